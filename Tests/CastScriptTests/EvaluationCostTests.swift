import Testing
@_spi(Benchmark) @testable import CastScript

/// What makes a call cheap must not change what it does: the builtin a call node remembers
/// (`CallSite`), arguments bound by slot, the lexer's ASCII paths and the parser's path for a
/// lone operand.
@Suite("Evaluation cost")
struct EvaluationCostTests {
    /// "line:column: message" of the error evaluating `prepared` raises.
    static func error(_ interpreter: Interpreter, _ prepared: Interpreter.Prepared) -> String? {
        scriptError { try interpreter.evaluate(prepared) }.map { "\($0.range.start): \($0.message)" }
    }

    @Test("a parsed call evaluated again sees its arguments' new values, and its type errors")
    func sameNodeNewValues() throws {
        let s = Sandbox()
        try s.interpreter.run("x = \"ab\"")
        let call = try s.interpreter.prepare("len(x)")
        #expect(try s.interpreter.evaluate(call) == .number(2))
        try s.interpreter.run("x = [1, 2, 3]")
        #expect(try s.interpreter.evaluate(call) == .number(3))
        try s.interpreter.run("x = 5")
        let expected = s.error("len(x)")
        #expect(expected?.hasPrefix("1:5: len: 'value' must be") == true)
        #expect(Self.error(s.interpreter, call) == expected)
        #expect(Self.error(s.interpreter, call) == expected)
        try s.interpreter.run("x = \"abcd\"")
        #expect(try s.interpreter.evaluate(call) == .number(4))
        // Keywords and defaults bound again each time.
        let keywords = try s.interpreter.prepare("range(0, x, step: n)")
        try s.interpreter.run("x = 6; n = 2")
        #expect(try s.interpreter.evaluate(keywords) == .range(RangeValue(start: 0, end: 6, step: 2)))
        try s.interpreter.run("n = 3")
        #expect(try s.interpreter.evaluate(keywords) == .range(RangeValue(start: 0, end: 6, step: 3)))
    }

    @Test("a variable that takes a builtin's name after a call of it was remembered wins")
    func shadowingAfterCaching() throws {
        let s = Sandbox()
        let call = try s.interpreter.prepare("len(\"abc\")")
        #expect(try s.interpreter.evaluate(call) == .number(3))
        #expect(try s.interpreter.evaluate(call) == .number(3))
        // Assignments refuse builtin names; a front end's `set` does not.
        s.interpreter.set("len", .number(1))
        #expect(Self.error(s.interpreter, call) == "1:1: a number cannot be called")
        let str = try #require(s.interpreter.builtins["str"])
        s.interpreter.set("len", .builtin(str))
        #expect(try s.interpreter.evaluate(call) == .string("abc"))
        #expect(try s.interpreter.evaluate(call) == .string("abc"))
        // A new variable with an unrelated name leaves what calls remember alone.
        let other = try s.interpreter.prepare("type(1)")
        #expect(try s.interpreter.evaluate(other) == .string("number"))
        s.interpreter.set("unrelated", .none)
        #expect(try s.interpreter.evaluate(other) == .string("number"))
    }

    @Test("a call through a variable holding a builtin follows the variable")
    func variableCallee() throws {
        let s = Sandbox()
        try s.interpreter.run("f = len")
        let call = try s.interpreter.prepare("f(\"abc\")")
        #expect(try s.interpreter.evaluate(call) == .number(3))
        try s.interpreter.run("f = str")
        #expect(try s.interpreter.evaluate(call) == .string("abc"))
        try s.interpreter.run("f = 2")
        #expect(Self.error(s.interpreter, call) == "1:1: a number cannot be called")
    }

    @Test("a parsed call in another interpreter resolves its names there")
    func otherInterpreter() throws {
        let first = Interpreter(builtins: Builtins.pure)
        let call = try first.prepare("len(\"ab\")")
        #expect(try first.evaluate(call) == .number(2))
        let second = Interpreter(builtins: Builtins.pure.filter { $0.name != "len" })
        let message = Self.error(second, call)
        #expect(message == "1:1: unknown name 'len' (the builtin 'len' is not available here)")
        #expect(try first.evaluate(call) == .number(2))
        let third = Interpreter(builtins: Builtins.pure)
        third.set("len", .number(0))
        #expect(Self.error(third, call) == "1:1: a number cannot be called")
    }

    @Test("a name among a call's arguments remembers its variable's slot only while it names that variable")
    func argumentSlots() throws {
        let s = Sandbox()
        // Not a variable yet: a builtin's name, then a variable that takes its name.
        let builtinArgument = try s.interpreter.prepare("type(help)")
        #expect(try s.interpreter.evaluate(builtinArgument) == .string("builtin"))
        s.interpreter.set("help", .number(1))
        #expect(try s.interpreter.evaluate(builtinArgument) == .string("number"))
        // Unknown, then defined: the error first, at the name, then the value.
        let unknown = try s.interpreter.prepare("len(later)")
        #expect(Self.error(s.interpreter, unknown) == "1:5: unknown name 'later'")
        try s.interpreter.run("later = \"abc\"")
        #expect(try s.interpreter.evaluate(unknown) == .number(3))
        try s.interpreter.run("later = [1]")
        #expect(try s.interpreter.evaluate(unknown) == .number(1))
        // Another interpreter holds the name in another slot, or not at all.
        let other = Interpreter(builtins: Builtins.pure)
        try other.run("a = 1; b = 2; later = \"abcdef\"")
        #expect(try other.evaluate(unknown) == .number(6))
        #expect(try s.interpreter.evaluate(unknown) == .number(1))
        let empty = Interpreter(builtins: Builtins.pure)
        #expect(Self.error(empty, unknown) == "1:5: unknown name 'later'")
        #expect(try other.evaluate(unknown) == .number(6))
        // Literals are made once and stay what they were written as.
        let literals = try s.interpreter.prepare("str(1.5) + str(\"x\") + str(true) + str(none)")
        #expect(try s.interpreter.evaluate(literals) == .string("1.5xtruenone"))
        #expect(try s.interpreter.evaluate(literals) == .string("1.5xtruenone"))
    }

    @Test("a call node's argument slots, kept for its next call, hold no argument and follow its builtin")
    func reusedSlots() throws {
        let s = Sandbox()
        // Arguments let go of after the call: only the variable keeps the object alive.
        weak var released: Probe?
        let call = try s.interpreter.prepare("type(p)")
        do {
            let probe = Probe()
            released = probe
            s.interpreter.set("p", .object(probe))
            #expect(try s.interpreter.evaluate(call) == .string("probe"))
            #expect(try s.interpreter.evaluate(call) == .string("probe"))
        }
        s.interpreter.set("p", .none)
        #expect(released == nil)
        // Defaults come back after a call that gave them, and a variable callee that changes
        // builtin binds the new one's parameters.
        try s.interpreter.run("f = range; n = 2")
        let variable = try s.interpreter.prepare("f(0, 6, n)")
        #expect(try s.interpreter.evaluate(variable) == .range(RangeValue(start: 0, end: 6, step: 2)))
        try s.interpreter.run("f = print")
        #expect(try s.interpreter.evaluate(variable) == .none)
        #expect(s.printed == "0 6 2\n")
        try s.interpreter.run("f = range")
        #expect(try s.interpreter.evaluate(variable) == .range(RangeValue(start: 0, end: 6, step: 2)))
        let keyword = try s.interpreter.prepare("range(0, 6, step: n)")
        let positional = try s.interpreter.prepare("range(0, 6)")
        for _ in 0..<2 {
            #expect(try s.interpreter.evaluate(keyword) == .range(RangeValue(start: 0, end: 6, step: 2)))
            #expect(try s.interpreter.evaluate(positional) == .range(RangeValue(start: 0, end: 6, step: 1)))
        }
        // A call that failed while binding binds from its defaults next time.
        try s.interpreter.run("n = 0.5")
        #expect(Self.error(s.interpreter, keyword)?.hasPrefix("1:19: range: 'step' must be") == true)
        try s.interpreter.run("n = 3")
        #expect(try s.interpreter.evaluate(keyword) == .range(RangeValue(start: 0, end: 6, step: 3)))
    }

    @Test("a call statement runs from its call's site: same values, errors where the call is written")
    func statementSites() throws {
        // Only an expression statement that is a call goes straight to its site.
        func site(_ source: String) throws -> Bool { try Parser.parse(source).statements[0].callSite != nil }
        #expect(try site("len(x)"))
        #expect(try site("(len(x))"))
        #expect(try !site("y = len(x)"))
        #expect(try !site("len(x) + 1"))
        #expect(try !site("x"))
        let s = Sandbox()
        try s.interpreter.run("x = 5")
        // The whole call, parentheses included, for an error about the call; the argument for
        // one about it.
        let cases = ["len()": "1:1: len: missing argument", "  ( len() )": "1:3: len: missing argument",
                     "(len)(x)": "1:7: len: 'value' must be", "x(1)": "1:1: a number cannot be called",
                     "len(\"ab\"); len(x)": "1:16: len: 'value' must be"]
        for (source, expected) in cases {
            let prepared = try s.interpreter.prepare(source)
            for _ in 0..<2 {
                let error = Self.error(s.interpreter, prepared)
                #expect(error?.hasPrefix(expected) == true, "\(source): \(error ?? "no error")")
            }
        }
        let statements = try s.interpreter.prepare("y = len(\"abc\"); len(\"ab\"); (len([y]))")
        for _ in 0..<2 { #expect(try s.interpreter.evaluate(statements) == .number(1)) }
        #expect(s.interpreter.variable("y") == .number(3))
    }

    @Test("errors of a parsed script keep their line, column and source, evaluated once or again")
    func locatedErrors() throws {
        let s = Sandbox()
        let source = "a = 1\nb = len(a)\n"
        let prepared = try s.interpreter.prepare(source, file: "x.cast")
        for _ in 0..<3 {
            let error = try #require(scriptError { try s.interpreter.evaluate(prepared) })
            #expect(error.range.start.description == "2:9")
            #expect(error.message.hasPrefix("len: 'value' must be"))
            #expect(error.file == "x.cast")
            #expect(error.rendered() == scriptError { try s.interpreter.evaluate(source, file: "x.cast") }?.rendered())
        }
        // Binding errors, which no cache may skip, in the order they are met.
        let cases = [
            "len(1, 2)", "len(valu: \"a\")", "range(1, step: 2, start: 0)", "print(items: 1)", "print(values: 1)", "range()",
            "len(nope, valu: 1)", "len(\"a\", nope)",
        ]
        for source in cases {
            let prepared = try s.interpreter.prepare(source)
            let expected = s.error(source)
            #expect(expected != nil, "\(source)")
            #expect(Self.error(s.interpreter, prepared) == expected, "\(source)")
            #expect(Self.error(s.interpreter, prepared) == expected, "\(source)")
        }
        let syntax = scriptError { try s.interpreter.prepare("len(1", file: "y.cast") }
        #expect(syntax?.file == "y.cast")
        #expect(syntax?.range.start.description == "1:6")
    }

    @Test("ASCII and non-ASCII sources give the same tokens at the same places")
    func lexerPathsAgree() throws {
        let lines = [
            "tokenize(m, \"The quick brown fox jumps over the lazy dog.\")",
            "x = 'single' + \"double\"; y = \"\"",
            "s = \"tab\\there\\n\" + \"q\\\"uote\" + 'it\\'s'",
            "t = \"\"\"triple\nlines\"\"\"\nt",
            "r = \"a\rb\"",
            "f(a, b: [1, 2.5, 1e-3], c: 0..<4, d: 1...3) != none and not true or false",
            "x.y[0] <= -1 >= 2 == 3 < 4 > 5 % 6 / 7 * 8",
        ]
        for line in lines {
            let ascii = try Lexer.tokenize(line)
            // A comment with a non-ASCII character after the line takes the general path.
            let general = try Lexer.tokenize(line + " # é")
            #expect(ascii.count == general.count, "\(line)")
            for (a, b) in zip(ascii.dropLast(), general.dropLast()) {
                #expect(a.kind == b.kind && a.range == b.range, "\(line): \(a.kind) at \(a.range.start)")
            }
        }
        // Errors inside or after a literal, on both paths.
        for line in ["\"abc\\q\"", "\"abc", "\"abc\ndef\"", "x = \"ok\" @"] {
            let a = Lexer.scan(line).error, b = Lexer.scan(line + " é").error
            #expect(a?.message == b?.message && a?.range.start == b?.range.start, "\(line)")
        }
        #expect(try Lexer.tokenize("\"caf\u{e9}\"").first?.kind == .string("caf\u{e9}"))
    }

    @Test("an operand alone, or followed by each operator, parses as through every precedence level")
    func loneOperands() throws {
        #expect(try parsed("f(x)") == ["(call f x)"])
        #expect(try parsed("f(x) + 1") == ["(+ (call f x) 1)"])
        #expect(try parsed("f(x) * 2 + 1") == ["(+ (* (call f x) 2) 1)"])
        #expect(try parsed("a.b == c and d or e") == ["(or (and (== (. a b) c) d) e)"])
        #expect(try parsed("xs[0]..<n") == ["(..< ([] xs 0) n)"])
        #expect(try parsed("a % b - c < d") == ["(< (- (% a b) c) d)"])
        #expect(try parsed("g(a, k: b + 1, j: not c)") == ["(call g a k:(+ b 1) j:(not c))"])
        #expect(try parsed("x = y") == ["(= x y)"])
        #expect(syntaxError("a < b < c") == "1:7: comparisons cannot be chained: write a < b and b < c")
        #expect(syntaxError("a..<b..<c") == "1:6: a range has one lower and one upper bound: write 0..<n")
        #expect(syntaxError("f(x) y") == "1:6: expected the end of the statement (a new line or ';'), found 'y'")
        #expect(syntaxError("for") == "1:1: 'for' is not part of the cast language: it has assignments, expressions and calls only (see help())")
        #expect(syntaxError("None") == "1:1: write 'none', not 'None'")
    }
}

/// An engine value that says when it is freed.
private final class Probe: ScriptObject {
    static let typeName = "probe"
    static let summary = "A test value."
    static var attributes: [Attribute<Probe>] { [] }
    func display() -> MIMEBundle { ["text/plain": brief] }
    var brief: String { "<probe>" }
}
