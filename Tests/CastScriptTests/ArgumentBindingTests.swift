import Testing
@_spi(Benchmark) @testable import CastScript

/// Binding has a path of its own for the common call, positional arguments only
/// (`Interpreter.bindPositional`), and reads arguments by name through the bits of short
/// names (`Builtin.slot`): neither may change a value, a default or an error.
@Suite("Argument binding")
struct ArgumentBindingTests {
    /// The value of `source` typed as a line, then parsed once and evaluated twice: all three
    /// must agree.
    static func value(_ s: Sandbox, _ source: String) throws -> Value {
        let typed = try s.interpreter.evaluate(source)
        let prepared = try s.interpreter.prepare(source)
        for _ in 0..<2 { #expect(try s.interpreter.evaluate(prepared) == typed, "\(source)") }
        return typed
    }

    /// The located error of `source`, typed and parsed once (evaluated twice): all must agree.
    static func error(_ s: Sandbox, _ source: String) throws -> String? {
        let typed = s.error(source)
        let prepared = try s.interpreter.prepare(source)
        for _ in 0..<2 { #expect(EvaluationCostTests.error(s.interpreter, prepared) == typed, "\(source)") }
        return typed
    }

    @Test("positional, keyword and default arguments bind the same parameters")
    func positionalKeywordDefault() throws {
        let s = Sandbox()
        try s.interpreter.run("a = 0; b = 6; c = 2")
        let expected = Value.range(RangeValue(start: 0, end: 6, step: 2))
        // All positional (the fast path), keywords, a mix, variables and literals.
        for source in ["range(0, 6, 2)", "range(a, b, c)", "range(0, 6, step: 2)", "range(a, end: b, step: c)",
                       "range(start: 0, end: 6, step: 2)", "range(step: c, end: b, start: a)"] {
            #expect(try Self.value(s, source) == expected, "\(source)")
        }
        // Defaults for the parameters a positional call leaves out, after a call that gave them.
        #expect(try Self.value(s, "range(0, 6)") == .range(RangeValue(start: 0, end: 6, step: 1)))
        #expect(try Self.value(s, "range(6)") == .range(RangeValue(start: 0, end: 6, step: 1)))
        let prepared = try s.interpreter.prepare("range(a, b)")
        let full = try s.interpreter.prepare("range(a, b, c)")
        for _ in 0..<2 {
            #expect(try s.interpreter.evaluate(full) == expected)
            #expect(try s.interpreter.evaluate(prepared) == .range(RangeValue(start: 0, end: 6, step: 1)))
        }
        // A variadic parameter still collects positional arguments (the general path).
        _ = try Self.value(s, "print(a, b, c)")
        #expect(s.printed == "0 6 2\n0 6 2\n0 6 2\n")
        #expect(try Self.value(s, "len(\"abc\")") == .number(3))
    }

    @Test("a positional call's errors: wrong type, missing, too many, unknown name, at the same place")
    func positionalErrors() throws {
        let s = Sandbox()
        try s.interpreter.run("x = 5; t = \"ab\"")
        #expect(try Self.error(s, "len(x)")?.hasPrefix("1:5: len: 'value' must be") == true)
        #expect(try Self.error(s, "len(5)")?.hasPrefix("1:5: len: 'value' must be") == true)
        #expect(try Self.error(s, "range(0, t)")?.hasPrefix("1:10: range: 'end' must be") == true)
        #expect(try Self.error(s, "range(0, 6, 0.5)")?.hasPrefix("1:13: range: 'step' must be") == true)
        #expect(try Self.error(s, "len()")?.hasPrefix("1:1: len: missing argument 'value'") == true)
        #expect(try Self.error(s, "range()")?.hasPrefix("1:1: range: missing argument 'start'") == true)
        #expect(try Self.error(s, "len(1, 2)")?.hasPrefix("1:5: len: 'value' must be") == true)
        #expect(try Self.error(s, "len(t, 2)")?.hasPrefix("1:8: len takes 1 argument (value), got 2") == true)
        #expect(try Self.error(s, "len(nope)")?.hasPrefix("1:5: unknown name 'nope'") == true)
        // The first argument at fault, in order, as the general path finds it.
        #expect(try Self.error(s, "range(t, nope)")?.hasPrefix("1:7: range: 'start' must be") == true)
        // An engine builtin given a number for its model: the same located error either way,
        // typed or parsed once (no model needed: binding refuses it first).
        let engine = Interpreter()
        engine.set("x", .number(5))
        func error(_ source: String) throws -> String? {
            let typed = scriptError { try engine.evaluate(source) }.map { "\($0.range.start): \($0.message)" }
            let prepared = try engine.prepare(source)
            for _ in 0..<2 { #expect(EvaluationCostTests.error(engine, prepared) == typed, "\(source)") }
            return typed
        }
        let expected = "tokenize: 'source' must be a model or tokenizer, got a number (5)"
        #expect(try error("tokenize(x, \"a\")") == "1:10: " + expected)
        #expect(try error("tokenize(source: x, text: \"a\")") == "1:18: " + expected)
        #expect(try error("tokenize(x, 1)") == "1:10: " + expected)
    }

    @Test("a positional call follows shadowing and a second interpreter")
    func shadowingAndInterpreters() throws {
        let s = Sandbox()
        let call = try s.interpreter.prepare("len(\"abc\")")
        #expect(try s.interpreter.evaluate(call) == .number(3))
        let str = try #require(s.interpreter.builtins["str"])
        s.interpreter.set("len", .builtin(str))
        #expect(try s.interpreter.evaluate(call) == .string("abc"))
        // Another interpreter, with the name as a variable in another slot.
        let other = Interpreter(builtins: Builtins.pure)
        try other.run("a = 1; b = 2; y = [1, 2]")
        let named = try other.prepare("len(y)")
        #expect(try other.evaluate(named) == .number(2))
        try s.interpreter.run("y = \"abcdef\"")
        #expect(try s.interpreter.evaluate(named) == .string("abcdef"))
        #expect(try other.evaluate(named) == .number(2))
    }

    @Test("a body reads its arguments by name, short or long, written in the source or built at run time")
    func slotsByName() {
        let long = "a_parameter_name_longer_than_fifteen_bytes"
        let builtin = Builtin("probe", [Parameter("x", .any), Parameter("step", .any), Parameter(long, .any)],
                              returns: "none", help: "", example: "") { _ in .none }
        #expect(builtin.slot("x") == 0)
        #expect(builtin.slot("step") == 1)
        #expect(builtin.slot(String("pets".reversed())) == 1)
        #expect(builtin.slot(long) == 2)
        // The same text in another string's storage.
        #expect(builtin.slot(String(long.reversed()).reversed().map(String.init).joined()) == 2)
        #expect(builtin.slot("ste") == nil)
        #expect(builtin.slot("steps") == nil)
        #expect(builtin.slot("") == nil)
    }
}
