import Testing
@testable import CastScript

@Suite("Interpreter")
struct InterpreterTests {
    @Test("arithmetic and number display")
    func arithmetic() throws {
        let s = Sandbox()
        #expect(try s.show("1 + 2 * 3") == "7")
        #expect(try s.show("7 / 2") == "3.5")
        #expect(try s.show("-7 % 3") == "2")
        #expect(try s.show("7 % -3") == "-2")
        #expect(try s.show("7.5 % 2") == "1.5")
        #expect(try s.show("1e-3") == "0.001")
        #expect(try s.show("2e20") == "2e+20")
        #expect(try s.show("1e300 * 1e300") == "inf")
        #expect(try s.show("-(1e300 * 1e300)") == "-inf")
        #expect(try s.show("0.1 + 0.2") == "0.30000000000000004")
        #expect(try s.show("--3") == "3")
    }

    @Test("strings, lists, comparisons, booleans")
    func values() throws {
        let s = Sandbox()
        #expect(try s.show("\"ab\" + 'cd'") == #""abcd""#)
        #expect(try s.show("\"tab\\there\"") == #""tab\there""#)
        #expect(try s.show("[1, \"a\", [true, none]] + [2]") == #"[1, "a", [true, none], 2]"#)
        #expect(try s.show("1 < 2 and \"a\" < \"b\" and not (2 <= 1)") == "true")
        #expect(try s.show("[1, 2] == [1, 2]") == "true")
        #expect(try s.show("1 == \"1\"") == "false")
        #expect(try s.show("none == none") == "true")
        #expect(try s.show("0..<3 == 0..<3") == "true")
        #expect(try s.show("len == len") == "true")
        // and/or look at their right side only when they need it.
        #expect(try s.show("false and nosuchname") == "false")
        #expect(try s.show("true or nosuchname") == "true")
        #expect(try s.show("(0 / 1) != 0") == "false")
    }

    @Test("ranges, indexing and slicing")
    func indexing() throws {
        let s = Sandbox()
        #expect(try s.show("0..<4") == "0..<4")
        #expect(try s.show("1...3") == "1...3")
        #expect(try s.show("len(1...3)") == "3")
        #expect(try s.show("len(5..<2)") == "0")
        #expect(try s.show("(0..<1e15)[-1]") == "999999999999999")
        #expect(try s.show("xs = [10, 20, 30, 40]; xs[0] + xs[-1]") == "50")
        #expect(try s.show("xs[1..<3]") == "[20, 30]")
        #expect(try s.show("xs[1...3]") == "[20, 30, 40]")
        #expect(try s.show("xs[range(3, -1, -1)]") == "[40, 30, 20, 10]")
        #expect(try s.show("xs[2..<2]") == "[]")
        #expect(try s.show("\"héllo\"[1]") == #""é""#)
        #expect(try s.show("\"héllo\"[1..<4]") == #""éll""#)
        #expect(try s.show("\"héllo\"[-1]") == #""o""#)
        #expect(try s.show("(0..<10)[2]") == "2")
        #expect(try s.show("range(0, 10, 3)[-1]") == "9")
    }

    @Test("builtins of the language: print, len, range, str, type, vars")
    func coreBuiltins() throws {
        let s = Sandbox()
        #expect(try s.value("print(\"a\", 1, [\"b\"], none)") == .none)
        #expect(try s.value("print()") == .none)
        #expect(try s.value("print(1, 2, separator: \", \")") == .none)
        #expect(s.printed == "a 1 [\"b\"] none\n\n1, 2\n")
        #expect(try s.show("range(4)") == "0..<4")
        #expect(try s.show("range(2, 5)") == "2..<5")
        #expect(try s.show("range(10, 0, -3)") == "range(10, 0, -3)")
        #expect(try s.show("len(range(10, 0, -3))") == "4")
        #expect(try s.show("range(10, 0, -3)[3]") == "1")
        #expect(try s.show("len(\"héllo\") + len([1, 2])") == "7")
        #expect(try s.show("str(1.5) + str(\"x\") + str([1, \"y\"])") == #""1.5x[1, \"y\"]""#)
        #expect(try s.show("[type(1), type(\"\"), type(true), type(none), type([]), type(0..<1), type(len)]")
                == #"["number", "string", "bool", "none", "list", "range", "builtin"]"#)
        _ = try s.value("alpha = 1; beta = \"two\"")
        #expect(try s.show("vars()") == """
            name   type    value
            args   list    []
            alpha  number  1
            beta   string  "two"
            """)
        #expect(try s.value("vars()").display()["text/html"]?.contains("<td>alpha</td>") == true)
    }

    @Test("runtime errors name the problem and point at it")
    func errors() {
        let s = Sandbox()
        let cases: [(String, String)] = [
            ("lne([1])", "1:1: unknown name 'lne'; did you mean 'len'?"),
            ("lenght = 3; lengt", "1:13: unknown name 'lengt'; did you mean 'lenght'?"),
            ("zzzz", "1:1: unknown name 'zzzz'"),
            ("load(\"x\")", "1:1: unknown name 'load' (the builtin 'load' is not available here)"),
            ("Len(1)", "1:1: unknown name 'Len'; did you mean 'len'?"),
            ("1 + \"a\"", "1:1: '+' needs two numbers, two strings or two lists, got a number and a string"),
            ("\"a\" * 2", "1:1: '*' needs two numbers, got a string and a number"),
            ("1 / (2 - 2)", "1:5: division by zero"),
            ("1 % 0", "1:5: remainder of a division by zero"),
            ("[1] < [2]", "1:1: '<' compares two numbers or two strings, got a list and a list"),
            ("-\"a\"", "1:2: '-' needs a number, got a string"),
            ("not 1", "1:5: 'not' needs true or false, got a number"),
            ("1 and true", "1:1: 'and' needs true or false, got a number"),
            ("false or 1", "1:10: 'or' needs true or false, got a number"),
            ("0..<1.5", "1:5: a range's bounds must be whole numbers, got 1.5"),
            ("[1, 2][2]", "1:8: index 2 is out of range: a list of length 2 has indices 0…1 (or -2…-1 from the end)"),
            ("[][0]", "1:4: index 0 is out of range: a list of length 0"),
            ("[1][0.5]", "1:5: an index must be a whole number or a range, got 0.5"),
            ("[1][\"a\"]", "1:5: an index must be a whole number or a range, got \"a\""),
            ("[1, 2][1..<5]", "1:8: the range 1..<5 reaches outside a list of length 2"),
            ("(1)[0]", "1:5: a number has no elements to index"),
            ("[1].length", "1:5: a list has no attributes; use len(…)"),
            ("(1).x", "1:5: a number has no attributes"),
            ("3(1)", "1:1: a number cannot be called"),
            ("len(1)", "1:5: len: 'value' must be a string, list, range, tokens, logits or table, got a number (1)"),
            ("len()", "1:1: len: missing argument 'value' (len(value) -> number)"),
            ("len([], [])", "1:9: len takes 1 argument (value), got 2"),
            ("range(1, 2, 3, 4)", "1:16: range takes 3 arguments (start, end, step), got 4"),
            ("range(4, stpe: 2)", "1:10: range has no parameter 'stpe'; did you mean 'step'?"),
            ("range(4, zzz: 2)", "1:10: range has no parameter 'zzz' (its parameters: start, end, step)"),
            ("vars(x: 1)", "1:6: vars has no parameter 'x' (it takes no keyword arguments)"),
            ("range(4, start: 2)", "1:10: range: argument 'start' is given twice (once by position)"),
            ("range(4, step: 0)", "1:16: range: 'step' must not be 0"),
            ("range(1.5)", "1:7: range: 'start' must be a whole number, got a number (1.5)"),
            ("print(values: 1)", "1:7: print: 'values' collects positional arguments and cannot be given by name"),
            ("print(1, separator: 2)", "1:21: print: 'separator' must be a string, got a number (2)"),
            ("len = 3", "1:1: 'len' is a builtin and cannot be assigned to; choose another name"),
            ("help(\"lne\")", "1:6: help: no help on 'lne'; did you mean 'len'? (help() lists the builtins)"),
        ]
        for (source, expected) in cases {
            #expect(s.error(source) == expected, "\(source)")
        }
    }

    @Test("an error keeps every variable and the effects of the statements before it")
    func errorsKeepTheSession() throws {
        let s = Sandbox()
        _ = try s.value("x = 1")
        #expect(s.error("y = 2; x = x + \"a\"; z = 3") == "1:12: '+' needs two numbers, two strings or two lists, got a number and a string")
        #expect(try s.show("x") == "1")
        #expect(try s.show("y") == "2")
        #expect(s.error("z") == "1:1: unknown name 'z'")
        #expect(s.error("x = (") != nil)
        #expect(try s.show("x + y") == "3")
    }

    @Test("a rendered error shows file:line:column, the source line and a caret under the span")
    func rendering() {
        let s = Sandbox()
        let error = scriptError { try s.interpreter.run("n = 3\nx = lne([1, 2]) + n\n", file: "demo.cast") }
        #expect(error?.rendered() == """
            demo.cast:2:5: error: unknown name 'lne'; did you mean 'len'?
            2 | x = lne([1, 2]) + n
              |     ^^^
            """)
        let syntax = scriptError { try s.interpreter.run("\tf(1,\n\t  2") }
        #expect(syntax?.rendered() == "2:5: error: expected ')' to close '(' at 1:3\n2 | \t  2\n  | \t   ^")
        let multiLine = scriptError { try s.interpreter.run("print(1 +\n  \"a\")") }
        #expect(multiLine?.rendered() == """
            1:7: error: '+' needs two numbers, two strings or two lists, got a number and a string
            1 | print(1 +
              |       ^^^
            """)
    }

    @Test("run shows each expression statement's value but none; assignments show nothing")
    func runShowsValues() throws {
        let s = Sandbox()
        var shown: [String] = []
        try s.interpreter.run("a = 2\na * 3\nprint(\"p\")\n[a]\nnone") { shown.append($0.plainText) }
        #expect(shown == ["6", "[2]"])
        #expect(s.printed == "p\n")
    }

    @Test("args holds the script's arguments")
    func arguments() throws {
        let interpreter = Interpreter(arguments: ["a", "b c"], builtins: Builtins.pure)
        #expect(try interpreter.evaluate("args").written() == #"["a", "b c"]"#)
        #expect(try interpreter.evaluate("len(args)") == .number(2))
    }

    @Test("cancellation stops before the next statement, keeping what ran")
    func cancellation() {
        let s = Sandbox()
        let flag = CancellationFlag()
        s.interpreter.isCancelled = { flag.isRequested }
        s.interpreter.output = { _ in flag.request() }
        let error = scriptError { try s.interpreter.run("a = 1\nprint(\"stop\")\nb = 2") }
        #expect(error?.kind == .interrupted)
        #expect(error?.rendered() == "3:1: interrupted: stopped here: the statements from this one on did not run\n3 | b = 2\n  | ^^^^^")
        #expect(s.interpreter.variables["a"] == .number(1))
        #expect(s.interpreter.variables["b"] == nil)
    }

    @Test("huge values are refused or shown cut, never built")
    func limits() throws {
        let s = Sandbox()
        #expect(try s.show("len(0..<1e15)") == "1000000000000000")
        #expect(s.error("(0..<1e15)[0..<1e9]") == "1:12: the slice 0..<1000000000 would hold more than 10000000 elements")
        _ = try s.value("x = [0..<1000]")
        for _ in 0..<20 { _ = try s.value("x = [x, x, x]") }
        #expect(try s.value("x").written().count <= 20_001)
    }
}
