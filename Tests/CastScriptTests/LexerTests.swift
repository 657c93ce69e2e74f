import Testing
@testable import CastScript

@Suite("Lexer")
struct LexerTests {
    func kinds(_ source: String) throws -> [TokenKind] { try Lexer.tokenize(source).map(\.kind) }

    @Test("numbers: integers, fractions, exponents, separators")
    func numbers() throws {
        #expect(try kinds("0 42 1.5 1e-3 2.5E+4 1_000 7e2") == [
            .number(0), .number(42), .number(1.5), .number(0.001), .number(25_000), .number(1000), .number(700), .end,
        ])
    }

    @Test("a range operator right after a number is not a fraction")
    func rangeAfterNumber() throws {
        #expect(try kinds("0..<4 1...3") == [
            .number(0), .punctuation(.halfOpenRange), .number(4), .number(1), .punctuation(.closedRange), .number(3), .end,
        ])
    }

    @Test("strings: both quotes, every escape, triple quotes over lines")
    func strings() throws {
        #expect(try kinds(#""a\"b" 'c\'d' "\n\t\r\0\\" "\u{e9}\u{1F600}""#) == [
            .string("a\"b"), .string("c'd"), .string("\n\t\r\0\\"), .string("é😀"), .end,
        ])
        #expect(try kinds("\"\"\"one\n\"two\"\r\nthree\"\"\"") == [.string("one\n\"two\"\nthree"), .end])
        #expect(try kinds("''") == [.string(""), .end])
    }

    @Test("string runs: non-ASCII text, quotes inside triple quotes, lone \\r, and the locations after them")
    func stringRuns() throws {
        #expect(try kinds("'naïve 😀 日本' x") == [.string("naïve 😀 日本"), .identifier("x"), .end])
        #expect(try kinds("\"\"\"a\"b\"\"c\"\"\"") == [.string("a\"b\"\"c"), .end])
        #expect(try kinds("\"a\rb\"") == [.string("a\rb"), .end])
        let tokens = try Lexer.tokenize("'é😀x' y\n\"\"\"p\nq\"\"\" z")
        #expect(tokens.map(\.range.start.description) == ["1:1", "1:7", "1:8", "2:1", "3:6", "3:7"])
        let long = String(repeating: "abc ", count: 500)
        #expect(try kinds("\"\(long)\"") == [.string(long), .end])
    }

    @Test("names, keywords, Unicode names")
    func names() throws {
        #expect(try kinds("max_tokens _x x2 true false none and or not café") == [
            .identifier("max_tokens"), .identifier("_x"), .identifier("x2"), .keyword(.true), .keyword(.false),
            .keyword(.none), .keyword(.and), .keyword(.or), .keyword(.not), .identifier("café"), .end,
        ])
    }

    @Test("operators take the longest match")
    func operators() throws {
        #expect(try kinds("== = != <= < >= > ..< ... . , : ; + - * / %").dropLast().map {
            if case .punctuation(let p) = $0 { p.rawValue } else { "?" }
        } == ["==", "=", "!=", "<=", "<", ">=", ">", "..<", "...", ".", ",", ":", ";", "+", "-", "*", "/", "%"])
    }

    @Test("line breaks end statements outside brackets only; comments are skipped")
    func newlines() throws {
        #expect(try kinds("a = 1 # one\n\n\nb = [1,\n 2]\r\n") == [
            .identifier("a"), .punctuation(.assign), .number(1), .newline,
            .identifier("b"), .punctuation(.assign), .punctuation(.leftBracket), .number(1), .punctuation(.comma),
            .number(2), .punctuation(.rightBracket), .newline, .end,
        ])
        #expect(try kinds("\n\n# only a comment\n") == [.end])
    }

    @Test("locations are 1-based lines and columns in Unicode scalars")
    func locations() throws {
        let tokens = try Lexer.tokenize("é = 1\n  xs[0]")
        #expect(tokens.map(\.range.start.description) == ["1:1", "1:3", "1:5", "1:6", "2:3", "2:5", "2:6", "2:7", "2:8"])
        #expect(tokens[4].range.start.offset == 8)
        #expect(tokens[4].range.end.column == 5)
    }

    /// "line:column-line:column: message" of the first lexical error.
    func lexError(_ source: String) -> String? {
        guard let e = Lexer.scan(source).error else { return nil }
        return "\(e.range.start)-\(e.range.end): \(e.message)"
    }

    @Test("every lexical error, located")
    func errors() {
        #expect(lexError("x = 1e") == "1:5-1:7: expected digits after the exponent 'e', as in 1e-3")
        #expect(lexError("x = 1e+") == "1:5-1:8: expected digits after the exponent 'e', as in 1e-3")
        #expect(lexError("2x") == "1:2-1:3: a number cannot run into a name: put an operator or a space after it")
        #expect(lexError("1_") == "1:2-1:3: a number cannot run into a name: put an operator or a space after it")
        #expect(lexError("1e999") == "1:1-1:6: the number 1e999 is too large")
        #expect(lexError("s = \"abc") == "1:5-1:9: unterminated string: close it with \"")
        #expect(lexError("s = '''abc\n") == "1:5-2:1: unterminated string: close it with '''")
        #expect(lexError("s = \"abc\nd\"") == "1:5-1:9: unterminated string: close it with \" before the end of the line "
                + "(use \\n for a line break, or \"\"\" for text over several lines)")
        #expect(lexError(#""a\qb""#) == #"1:3-1:5: unknown escape '\q': use \n \t \r \0 \\ \" \' or \u{…}"#)
        #expect(lexError(#""\u41""#) == #"1:2-1:4: a \u escape needs braces, as in \u{e9}"#)
        #expect(lexError(#""\u{}""#) == #"1:2-1:6: a \u escape holds 1 to 8 hexadecimal digits in braces, as in \u{1F600}"#)
        #expect(lexError(#""\u{123456789}""#) == #"1:2-1:15: a \u escape holds 1 to 8 hexadecimal digits in braces, as in \u{1F600}"#)
        #expect(lexError(#""\u{zz}""#) == #"1:2-1:6: a \u escape holds 1 to 8 hexadecimal digits in braces, as in \u{1F600}"#)
        #expect(lexError(#""\u{D800}""#) == #"1:2-1:10: \u{D800} is not a Unicode scalar value"#)
        #expect(lexError("0..4") == "1:2-1:4: write '..<' for a range that stops before its end, '...' for one that includes it")
        #expect(lexError("!x") == "1:1-1:2: write 'not' instead of '!'")
        #expect(lexError("a && b") == "1:3-1:5: write 'and' instead of '&&'")
        #expect(lexError("a || b") == "1:3-1:5: write 'or' instead of '||'")
        #expect(lexError("a & b") == "1:3-1:4: write 'and' instead of '&'")
        #expect(lexError("{") == "1:1-1:2: the language has no '{ }' blocks; lists are written [a, b]")
        #expect(lexError("x = @") == "1:5-1:6: unexpected character '@'")
        #expect(lexError("x = \\n") == "1:5-1:6: a backslash escapes characters inside strings only")
        #expect(lexError("x = \u{7}") == "1:5-1:6: unexpected character 'U+7'")
        #expect(lexError("x = 1") == nil)
    }

    @Test("scan reports what is open at the end")
    func openAtEnd() {
        let scan = Lexer.scan("f(a, [1,\n 2")
        #expect(scan.error == nil)
        #expect(scan.openBrackets.map(\.range.start.description) == ["1:2", "1:6"])
        let string = Lexer.scan("load(\"smol")
        #expect(string.openString?.content == "smol")
        #expect(string.openString?.triple == false)
        #expect(string.tokens.count == 2)
        #expect(Lexer.scan("x = \"\"\"a\nb").openString?.triple == true)
    }
}
