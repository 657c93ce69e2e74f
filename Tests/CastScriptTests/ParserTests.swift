import Testing
@testable import CastScript

@Suite("Parser")
struct ParserTests {
    @Test("precedence: or < and < not < comparison < range < + - < * / % < unary - < postfix")
    func precedence() throws {
        #expect(try parsed("1 + 2 * 3 - 4 % 5") == ["(- (+ 1 (* 2 3)) (% 4 5))"])
        #expect(try parsed("-x.y[0] * -2") == ["(* (- ([] (. x y) 0)) (- 2))"])
        #expect(try parsed("a or b and not c == d") == ["(or a (and b (not (== c d))))"])
        #expect(try parsed("0..<n + 1") == ["(..< 0 (+ n 1))"])
        #expect(try parsed("1...3 == r") == ["(== (... 1 3) r)"])
        #expect(try parsed("(1 + 2) * 3") == ["(* (+ 1 2) 3)"])
        #expect(try parsed("not not true") == ["(not (not true))"])
        #expect(try parsed("a - b - c") == ["(- (- a b) c)"])
    }

    @Test("calls with positional and keyword arguments, nested and over lines")
    func calls() throws {
        #expect(try parsed("generate(m, \"hi\", max_tokens: 8, chat: true)") == [#"(call generate m "hi" max_tokens:8 chat:true)"#])
        #expect(try parsed("f()") == ["(call f)"])
        #expect(try parsed("f(a,)") == ["(call f a)"])
        #expect(try parsed("train(c,\n      steps: 200,   # comment\n      lr: 1e-3)\n") == ["(call train c steps:200 lr:0.001)"])
        #expect(try parsed("f(g(x))(y)") == ["(call (call f (call g x)) y)"])
    }

    @Test("lists, indexing, attributes, literals")
    func atoms() throws {
        #expect(try parsed("[1, [2, 3], \"s\", true, false, none]") == [#"[1 [2 3] "s" true false none]"#])
        #expect(try parsed("[]") == ["[]"])
        #expect(try parsed("[\n  1,\n  2,\n]") == ["[1 2]"])
        #expect(try parsed("xs[-1]") == ["([] xs (- 1))"])
        #expect(try parsed("xs[1..<3]") == ["([] xs (..< 1 3))"])
        #expect(try parsed("m.tokenizer.vocabulary") == ["(. (. m tokenizer) vocabulary)"])
        #expect(try parsed("load(\"x\").layers") == [#"(. (call load "x") layers)"#])
    }

    @Test("statements: assignments and expressions, separated by new lines or ';'")
    func statements() throws {
        #expect(try parsed("a = 1; b = a + 1\nb\n\n;;c") == ["(= a 1)", "(= b (+ a 1))", "b", "c"])
        #expect(try parsed("") == [])
        #expect(try parsed("# just a comment") == [])
        let program = try Parser.parse("x = f(1,\n  2)\ny")
        #expect(program.statements.map(\.range.start.description) == ["1:1", "3:1"])
        #expect(program.statements[0].range.end.description == "2:5")
    }

    @Test("every node carries its source range")
    func ranges() throws {
        let program = try Parser.parse("r = generate(m, \"hi\", max_tokens: 8)")
        guard case .assignment(_, let nameRange, let value) = program.statements[0].kind,
              case .call(let callee, let arguments, let closing) = value.kind else {
            Issue.record("not a call")
            return
        }
        #expect(nameRange.start.description == "1:1")
        #expect(value.range.start.description == "1:5")
        #expect(value.range.end.description == "1:37")
        #expect(callee.range.end.column == 13)
        #expect(arguments[1].value.range.start.column == 17)
        #expect(arguments[2].labelRange?.start.column == 23)
        #expect(arguments[2].value.range.start.column == 35)
        #expect(closing.start.column == 36)
    }

    @Test("every syntax error, with its exact located message")
    func errors() {
        let cases: [(String, String)] = [
            ("print(1, 2", "1:11: expected ')' to close '(' at 1:6"),
            ("f(a b)", "1:5: expected ')' to close '(' at 1:2, found 'b' (separate arguments with ',')"),
            ("f(a]", "1:4: expected ')' to close '(' at 1:2, found ']'"),
            ("(1 + 2", "1:7: expected ')' to close '(' at 1:1"),
            ("(1 + 2]", "1:7: expected ')' to close '(' at 1:1, found ']'"),
            ("(1, 2)", "1:3: expected ')' to close '(' at 1:1, found ',' (write a list as [a, b])"),
            ("[1, 2", "1:6: expected ']' to close '[' at 1:1"),
            ("[1 2]", "1:4: expected ',' or ']' to close '[' at 1:1, found a number"),
            ("xs[0", "1:5: expected ']' to close '[' at 1:3"),
            ("xs[]", "1:4: expected an index inside '[ ]', as in xs[0] or xs[-1]"),
            ("x = ", "1:3: expected a value after '=' (x = …)"),
            ("f(x) = 3", "1:1: cannot assign to a call: only a name can be assigned to, as in x = … (to compare, write '==')"),
            ("m.layers = 3", "1:1: cannot assign to an attribute: only a name can be assigned to, as in x = … (to compare, write '==')"),
            ("1 = x", "1:1: cannot assign to a value: only a name can be assigned to, as in x = … (to compare, write '==')"),
            ("a = b = 1", "1:7: one '=' per statement: write each assignment on its own line"),
            ("1 +", "1:4: expected an expression, found the end of the input"),
            ("x = 1 +\n2", "1:8: expected an expression before the end of the line (to continue an expression on the next line, put it in parentheses)"),
            ("a b", "1:3: expected the end of the statement (a new line or ';'), found 'b'"),
            ("1 < 2 < 3", "1:7: comparisons cannot be chained: write a < b and b < c"),
            ("0..<1..<2", "1:6: a range has one lower and one upper bound: write 0..<n"),
            ("m.", "1:2: expected an attribute name after '.', found end of input"),
            ("m.3", "1:3: expected an attribute name after '.', found a number"),
            ("f(,)", "1:3: expected an argument before ','"),
            ("f(x=1)", "1:4: keyword arguments are written with ':', as in x: …"),
            ("f(a: )", "1:6: expected a value for 'a:'"),
            ("f(a: 1, a: 2)", "1:9: argument 'a' is given twice (first at 1:3)"),
            ("f(a: 1, 2)", "1:9: a positional argument cannot follow the keyword argument 'a:'"),
            ("[,]", "1:2: expected a list element before ','"),
            ("()", "1:2: expected an expression inside '( )'"),
            (")", "1:1: expected an expression, found ')'"),
            ("x = ]", "1:5: expected an expression, found ']'"),
            ("for x in xs", "1:1: 'for' is not part of the cast language: it has assignments, expressions and calls only (see help())"),
            ("x = True", "1:5: write 'true', not 'True'"),
            ("x = None", "1:5: write 'none', not 'None'"),
            ("x = null", "1:5: write 'none', not 'null'"),
            ("\"abc", "1:1: unterminated string: close it with \""),
        ]
        for (source, expected) in cases {
            #expect(syntaxError(source) == expected, "\(source)")
        }
    }

    @Test("nesting past the limits is an error, not a stack overflow")
    func nestingLimits() {
        let deep = String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)
        #expect(syntaxError(deep) == "1:65: expression nested too deeply (more than 64 levels)")
        #expect(syntaxError(String(repeating: "[", count: 70))?.hasSuffix("expression nested too deeply (more than 64 levels)") == true)
        #expect(syntaxError(String(repeating: "-", count: 500) + "1")?.hasSuffix("nested too deeply (more than 64 levels)") == true)
        let long = "x = 1" + String(repeating: " + 1", count: 300)
        #expect(syntaxError(long) == "1:5: expression too long or nested too deeply (more than 256 levels): split it over several assignments")
        let chain = "x" + String(repeating: ".a", count: 300)
        #expect(syntaxError(chain) == "1:1: expression too long (more than 256 levels): split it over several assignments")
        #expect(syntaxError(String(repeating: "(", count: 62) + "1" + String(repeating: ")", count: 62)) == nil)
    }
}
