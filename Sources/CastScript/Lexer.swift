#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits source text into tokens. Line breaks end statements except inside brackets, so an
/// expression may span lines within `( )` or `[ ]`. `scan` never throws: it stops at the
/// first error and says what was open there, which completion and `isComplete` need.
public struct Lexer {
    /// What scanning found: the tokens before the first error (ending in `.end` when there
    /// was none), the error, and what was left open at the end of the text.
    public struct Scan: Sendable {
        public var tokens: [Token]
        public var error: ScriptError?
        /// Brackets opened and not closed, innermost last.
        public var openBrackets: [Token]
        /// A string still open at the end of the text: where it starts, what it holds so far,
        /// and whether it is a triple-quoted (multi-line) one.
        public var openString: (start: SourceLocation, content: String, triple: Bool)?
    }

    /// The tokens of `source`, ending in `.end`; throws the first lexical error.
    public static func tokenize(_ source: String) throws -> [Token] {
        let scan = scan(source)
        if let error = scan.error { throw error }
        return scan.tokens
    }

    public static func scan(_ source: String) -> Scan {
        // The lexer reads the string's own UTF-8 (a native string's is contiguous; any other
        // is made so once): copying it into an array cost an allocation per line.
        var source = source
        source.makeContiguousUTF8()
        return source.utf8.withContiguousStorageIfAvailable { bytes in
            var lexer = Lexer(bytes, source: source)
            lexer.run()
            return Scan(tokens: lexer.tokens, error: lexer.error, openBrackets: lexer.openBrackets, openString: lexer.openString)
        }!
    }

    /// The source's scalars when it is not all ASCII; empty when it is (`bytes` holds it).
    private let text: [Unicode.Scalar]
    /// The source's UTF-8, valid while `scan` runs. When it is all ASCII, byte i is scalar i,
    /// so a string literal's text is copied at once instead of scalar by scalar.
    private let bytes: UnsafeBufferPointer<UInt8>
    private let isASCII: Bool
    /// How many scalars the source has.
    private let count: Int
    private var position = 0, line = 1, column = 1
    private var tokens: [Token] = []
    /// How many brackets are open (a closer with none open is passed over). The brackets
    /// themselves are found at the end, when some are open (`openBrackets`): a stack of them
    /// cost an allocation per line.
    private var depth = 0
    private var error: ScriptError?
    private var openString: (start: SourceLocation, content: String, triple: Bool)?

    private init(_ bytes: UnsafeBufferPointer<UInt8>, source: String) {
        // Plain loops over the bytes, which the compiler vectorizes: decoding scalars one by
        // one cost more than the rest of lexing a short line.
        let isASCII = bytes.reduce(0, |) < 0x80
        self.bytes = bytes
        self.isASCII = isASCII
        // An ASCII source is read from its bytes alone: making its scalars too cost an array.
        text = isASCII ? [] : Array(source.unicodeScalars)
        count = isASCII ? bytes.count : text.count
        // A line holds a few tokens; reserving room for them spares regrowing the array. At
        // most 12 (under 1 KiB): a block that small comes from malloc's per-thread cache, where
        // one of 32 took longer to allocate and free than the rest of lexing a short line.
        tokens.reserveCapacity(min(count + 1, 12))
    }

    /// Text from scalars. Built through UTF-8 bytes: appending to a `String.UnicodeScalarView`
    /// one scalar at a time costs ~50 ns each, which made lexing a long literal slower than
    /// tokenizing it.
    private struct UTF8Text {
        var bytes: [UInt8] = []
        mutating func append(_ scalar: Unicode.Scalar) {
            if scalar.isASCII { bytes.append(UInt8(scalar.value)) } else { UTF8.encode(scalar) { bytes.append($0) } }
        }
        mutating func append(_ scalars: ArraySlice<Unicode.Scalar>) {
            for scalar in scalars { append(scalar) }
        }
        mutating func append(_ asciiBytes: Slice<UnsafeBufferPointer<UInt8>>) {
            bytes.append(contentsOf: asciiBytes)
        }
        var string: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Written straight into the string's storage (a name of up to 15 bytes needs none).
    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        let count = scalars.reduce(0) { $0 + UTF8.width($1) }
        return String(unsafeUninitializedCapacity: count) { buffer in
            var i = 0
            for scalar in scalars {
                UTF8.encode(scalar) { byte in
                    buffer[i] = byte
                    i += 1
                }
            }
            return i
        }
    }

    private var location: SourceLocation { SourceLocation(offset: position, line: line, column: column) }

    /// Scalar `i` of the source (`i < count`).
    private func scalar(_ i: Int) -> Unicode.Scalar {
        isASCII ? Unicode.Scalar(bytes[i]) : text[i]
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        position + ahead < count ? scalar(position + ahead) : nil
    }

    private mutating func advance() {
        if scalar(position) == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        position += 1
    }

    private mutating func run() {
        while error == nil {
            skipSpaceAndComments()
            guard let c = peek() else { break }
            let start = location
            if c == "\n" {
                advance()
                // Inside brackets a line break is only space; a run of them is one separator.
                if depth == 0, let last = tokens.last, last.kind != .newline {
                    tokens.append(Token(kind: .newline, range: SourceRange(start, location)))
                }
            } else if c.isDigit {
                lexNumber(from: start)
            } else if c.startsIdentifier {
                lexIdentifier(from: start)
            } else if c == "\"" || c == "'" {
                lexString(from: start, quote: c)
            } else {
                lexPunctuation(from: start)
            }
        }
        if error == nil { tokens.append(Token(kind: .end, range: SourceRange(location, location))) }
    }

    /// The brackets open at the end, innermost last: read backwards, the openers no later
    /// closer closes (each closer closing the innermost open one, as `depth` counts them).
    private var openBrackets: [Token] {
        guard depth > 0 else { return [] }
        var open: [Token] = [], closers = 0
        for token in tokens.reversed() {
            guard case .punctuation(let p) = token.kind else { continue }
            if p.closer != nil {
                if closers > 0 { closers -= 1 } else { open.append(token) }
            } else if p == .rightParen || p == .rightBracket {
                closers += 1
            }
        }
        return open.reversed()
    }

    private mutating func fail(_ message: String, _ range: SourceRange) {
        if error == nil { error = ScriptError(.syntax, message, at: range) }
    }

    private mutating func skipSpaceAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" || c == "\u{FEFF}" {
                advance()
            } else if c == "#" {
                while let d = peek(), d != "\n" { advance() }
            } else {
                return
            }
        }
    }

    // MARK: names and numbers

    private mutating func lexIdentifier(from start: SourceLocation) {
        let nameStart = position
        while let c = peek(), c.continuesIdentifier { advance() }
        let word = isASCII ? String(decoding: bytes[nameStart..<position], as: UTF8.self)
                           : Self.string(text[nameStart..<position])
        // Keywords are 2 to 5 lowercase letters: most names need no comparison with them.
        let mayBeKeyword = (2...5).contains(position - nameStart) && scalar(nameStart).value &- 97 < 26
        let kind: TokenKind = (mayBeKeyword ? Keyword(rawValue: word) : nil).map { .keyword($0) } ?? .identifier(word)
        tokens.append(Token(kind: kind, range: SourceRange(start, location)))
    }

    /// `12`, `1_000`, `0.5`, `1e-3`, `2.5E+4`. A `.` joins the number only before a digit, so
    /// `0..<4` is a number and a range operator.
    private mutating func lexNumber(from start: SourceLocation) {
        var digits = ""
        func takeDigits(_ lexer: inout Lexer) -> Bool {
            var any = false
            while let c = lexer.peek(), c.isDigit || (c == "_" && any && lexer.peek(1)?.isDigit == true) {
                if c != "_" { digits.unicodeScalars.append(c) }
                any = true
                lexer.advance()
            }
            return any
        }
        _ = takeDigits(&self)
        if peek() == ".", peek(1)?.isDigit == true {
            digits += "."
            advance()
            _ = takeDigits(&self)
        }
        if let e = peek(), e == "e" || e == "E" {
            let signed = peek(1) == "+" || peek(1) == "-"
            if peek(signed ? 2 : 1)?.isDigit == true {
                digits += "e"
                advance()
                if signed {
                    digits.unicodeScalars.append(peek()!)
                    advance()
                }
                _ = takeDigits(&self)
            } else if peek(1)?.continuesIdentifier != true || signed {
                advance()
                if signed { advance() }
                return fail("expected digits after the exponent 'e', as in 1e-3",
                            SourceRange(start, location))
            }
        }
        if let c = peek(), c.continuesIdentifier {
            let numberEnd = location
            while let d = peek(), d.continuesIdentifier { advance() }
            return fail("a number cannot run into a name: put an operator or a space after it",
                        SourceRange(numberEnd, location))
        }
        guard let value = Double(digits), value.isFinite else {
            return fail("the number \(digits) is too large", SourceRange(start, location))
        }
        tokens.append(Token(kind: .number(value), range: SourceRange(start, location)))
    }

    // MARK: strings

    /// `"…"` or `'…'` on one line, or `"""…"""` / `'''…'''` over several; escapes `\n \t \r
    /// \0 \\ \" \' \u{…}`.
    private mutating func lexString(from start: SourceLocation, quote: Unicode.Scalar) {
        let triple = peek(1) == quote && peek(2) == quote
        for _ in 0..<(triple ? 3 : 1) { advance() }
        // The common literal, ASCII text on one line with no escapes: one copy, straight
        // into the string.
        if !triple, isASCII {
            // The next quote, then whether an escape or a line break comes before it: two
            // passes the machine does many bytes at a time (memchr, and a loop the compiler
            // vectorizes), where one test after another cost about ten instructions a byte.
            if position < bytes.count, let base = bytes.baseAddress,
               let found = memchr(base + position, Int32(quote.value), bytes.count - position) {
                let end = UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - base
                var special: UInt8 = 0
                for byte in bytes[position..<end] {
                    special |= (byte == UInt8(ascii: "\\") ? 1 : 0) | (byte == UInt8(ascii: "\n") ? 1 : 0)
                        | (byte == UInt8(ascii: "\r") ? 1 : 0)
                }
                if special == 0 {
                    let content = String(decoding: bytes[position..<end], as: UTF8.self)
                    column += end + 1 - position
                    position = end + 1
                    tokens.append(Token(kind: .string(content), range: SourceRange(start, location)))
                    return
                }
            }
        }
        var content = UTF8Text()
        while true {
            guard let c = peek() else {
                openString = (start, content.string, triple)
                let closer = String(repeating: String(quote), count: triple ? 3 : 1)
                return fail("unterminated string: close it with \(closer)", SourceRange(start, location))
            }
            if c == quote, !triple || (peek(1) == quote && peek(2) == quote) {
                for _ in 0..<(triple ? 3 : 1) { advance() }
                tokens.append(Token(kind: .string(content.string), range: SourceRange(start, location)))
                return
            }
            if c == "\n", !triple {
                openString = nil
                return fail("unterminated string: close it with \(quote) before the end of the line "
                            + "(use \\n for a line break, or \(quote)\(quote)\(quote) for text over several lines)",
                            SourceRange(start, location))
            }
            if c == "\\" {
                guard let scalar = lexEscape() else {
                    if error == nil { continue }
                    return
                }
                content.append(scalar)
            } else if triple, c == "\r", peek(1) == "\n" {
                advance()
            } else if c == "\n" || c == "\r" {
                content.append(c)
                advance()
            } else {
                // This character and the plain ones after it (up to a quote, escape or line
                // break) are copied at once: a long literal is most of a line.
                let runStart = position
                position += 1
                while position < count, scalar(position) != quote, scalar(position) != "\\",
                      scalar(position) != "\n", scalar(position) != "\r" {
                    position += 1
                }
                if isASCII { content.append(bytes[runStart..<position]) } else { content.append(text[runStart..<position]) }
                column += position - runStart
            }
        }
    }

    /// The scalar an escape stands for (the lexer is on its backslash); nil after an error.
    private mutating func lexEscape() -> Unicode.Scalar? {
        let start = location
        advance()
        guard let c = peek() else { return nil }
        let simple: Unicode.Scalar? = switch c {
        case "n": "\n"
        case "t": "\t"
        case "r": "\r"
        case "0": "\0"
        case "\\", "\"", "'": c
        default: nil
        }
        if let scalar = simple {
            advance()
            return scalar
        }
        guard c == "u" else {
            if c != "\n" { advance() }
            fail("unknown escape '\\\(c == "\n" ? "" : String(c))': use \\n \\t \\r \\0 \\\\ \\\" \\' or \\u{…}",
                 SourceRange(start, location))
            return nil
        }
        advance()
        guard peek() == "{" else {
            fail("a \\u escape needs braces, as in \\u{e9}", SourceRange(start, location))
            return nil
        }
        advance()
        var hex = ""
        while let d = peek(), d.properties.isASCIIHexDigit {
            hex.unicodeScalars.append(d)
            advance()
        }
        guard peek() == "}", (1...8).contains(hex.count) else {
            if peek() != nil, peek() != "\n" { advance() }
            fail("a \\u escape holds 1 to 8 hexadecimal digits in braces, as in \\u{1F600}", SourceRange(start, location))
            return nil
        }
        advance()
        guard let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
            fail("\\u{\(hex)} is not a Unicode scalar value", SourceRange(start, location))
            return nil
        }
        return scalar
    }

    // MARK: punctuation

    private mutating func lexPunctuation(from start: SourceLocation) {
        let c = peek()!
        if let p = punctuationHere() {
            // Punctuation is ASCII on one line: its length in scalars is its length in bytes.
            let length = p.length
            position += length
            column += length
            if p.closer != nil {
                depth += 1
            } else if p == .rightParen || p == .rightBracket, depth > 0 {
                depth -= 1
            }
            tokens.append(Token(kind: .punctuation(p), range: SourceRange(start, location)))
            return
        }
        if matches("..") {
            advance()
            advance()
            return fail("write '..<' for a range that stops before its end, '...' for one that includes it",
                        SourceRange(start, location))
        }
        let hints: [String: String] = [
            "!": "write 'not' instead of '!'",
            "&&": "write 'and' instead of '&&'", "&": "write 'and' instead of '&'",
            "||": "write 'or' instead of '||'", "|": "write 'or' instead of '|'",
            "{": "the language has no '{ }' blocks; lists are written [a, b]",
            "}": "the language has no '{ }' blocks; lists are written [a, b]",
            "\\": "a backslash escapes characters inside strings only",
        ]
        for (text, hint) in hints.sorted(by: { $0.key.count > $1.key.count }) where matches(text) {
            for _ in text.unicodeScalars { advance() }
            return fail(hint, SourceRange(start, location))
        }
        advance()
        let shown = c.properties.generalCategory == .control || c == " " ? "U+\(String(c.value, radix: 16, uppercase: true))" : String(c)
        fail("unexpected character '\(shown)'", SourceRange(start, location))
    }

    /// The punctuation at the current position, longest match first ("..<" and "..." before
    /// ".", "==" before "="); nil for none, and for ".." not followed by "<" or ".".
    private func punctuationHere() -> Punctuation? {
        let next = peek(1)
        switch peek()! {
        case "(": return .leftParen
        case ")": return .rightParen
        case "[": return .leftBracket
        case "]": return .rightBracket
        case ",": return .comma
        case ":": return .colon
        case ";": return .semicolon
        case "+": return .plus
        case "-": return .minus
        case "*": return .star
        case "/": return .slash
        case "%": return .percent
        case "=": return next == "=" ? .equal : .assign
        case "!": return next == "=" ? .notEqual : nil
        case "<": return next == "=" ? .lessOrEqual : .less
        case ">": return next == "=" ? .greaterOrEqual : .greater
        case ".":
            guard next == "." else { return .dot }
            return peek(2) == "<" ? .halfOpenRange : peek(2) == "." ? .closedRange : nil
        default: return nil
        }
    }

    private func matches(_ s: String) -> Bool {
        var i = 0
        for scalar in s.unicodeScalars {
            guard peek(i) == scalar else { return false }
            i += 1
        }
        return true
    }
}

extension Unicode.Scalar {
    var isDigit: Bool { value &- 48 < 10 }
    /// ASCII letters are tested directly: Unicode property lookups cost more than the rest of
    /// lexing a name.
    private var isASCIILetter: Bool { (value | 0x20) &- 97 < 26 }
    var startsIdentifier: Bool { self == "_" || (value < 128 ? isASCIILetter : properties.isXIDStart) }
    var continuesIdentifier: Bool { self == "_" || (value < 128 ? isDigit || isASCIILetter : properties.isXIDContinue) }
}
