import Foundation
import Testing
@testable import CastScript

/// A small seeded generator (SplitMix64), so every run fuzzes the same inputs.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated inputs through the lexer, the parser, the evaluator (only the
/// builtins that touch no model) and completion: nothing may crash or hang, and every
/// failure must be a `ScriptError` located inside the input.
@Suite("Fuzz")
struct FuzzTests {
    /// Valid programs to mutate.
    static let corpus = [
        "x = 1 + 2 * 3\nx",
        "xs = [1, 2, 3]; xs[-1] + len(xs)",
        "s = \"a\\tb\\u{e9}\" + 'c'; s[1..<3]",
        "print(\"hi\", 1e-3, [true, none], separator: \", \")",
        "r = range(0, 10, 2); r[1...3]",
        "t = vars(); t.name; t[0].type",
        "help(len); help(\"range\"); help()",
        "not (1 < 2) or 3 >= 4 and \"a\" != \"b\"",
        "str(0..<4) + type(none)",
        "y = -(-7 % 3) / 2\ny * 1_000",
        "z = [[1, [2]], [], \"\"\"multi\nline\"\"\"]\nz[0][1][0]",
        "len(args) == 0",
        "f = len\nf([1, 2])",
        "q = help(\"model\").text; len(q) > 10",
    ]

    /// Pieces random inputs are built from: tokens of the language and some that are not.
    static let pieces = [
        "x", "y", "xs", "len", "range", "print", "help", "vars", "str", "type", "args", "foo", "_", "é",
        "0", "1", "-1", "2.5", "1e308", "1e-3", "9007199254740993", "1e15", "1_0", "3e", "0x1",
        "\"a\"", "\"\"", "'b'", "\"\\n\"", "\"\\u{1F600}\"", "\"\\q\"", "\"\"\"", "\"", "'", "\\",
        "true", "false", "none", "and", "or", "not", "True", "for", "if",
        "(", ")", "[", "]", ",", ":", ".", ";", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%",
        "..<", "...", "..", "!", "&&", "{", "@", "#c", " ", " ", "\n", "\t", "\r\n", "\u{0}", "\u{FEFF}", "🙂",
    ]

    @Test("thousands of random and mutated inputs: a value or a located error, never a crash")
    func fuzz() throws {
        var random = SeededGenerator(state: 0xCA57)
        var interpreter = Interpreter(builtins: Builtins.pure)
        var outcomes = (values: 0, errors: 0)
        let start = Date()
        for case_ in 0..<15000 {
            if case_ % 200 == 0 { interpreter = Self.sandbox() }
            let source: String
            switch case_ % 3 {
            case 0: source = Self.randomInput(&random)
            case 1: source = Self.mutatedInput(&random)
            default: source = Self.randomProgram(&random)
            }
            if Self.check(source, interpreter, &random) { outcomes.values += 1 } else { outcomes.errors += 1 }
        }
        let seconds = Date().timeIntervalSince(start)
        #expect(outcomes.values > 1000, "too few inputs ran: the fuzzer only tests errors")
        #expect(outcomes.errors > 5000)
        #expect(seconds < 60, "fuzzing took \(seconds) s")
    }

    static func sandbox() -> Interpreter {
        let interpreter = Interpreter(builtins: Builtins.pure)
        interpreter.output = { _ in }
        return interpreter
    }

    /// Runs `source` through every entry point; true when it ran without error.
    static func check(_ source: String, _ interpreter: Interpreter, _ random: inout SeededGenerator) -> Bool {
        let count = source.unicodeScalars.count
        // Lines by scalars: "\r\n" is one Character, so splitting the String would miss it.
        let lines = source.unicodeScalars.filter { $0 == "\n" }.count + 1
        let scan = Lexer.scan(source)
        if let error = scan.error { expectLocated(error, in: source, count: count, lines: lines) }
        _ = Interpreter.isComplete(source)
        let cursor = Int.random(in: 0...count, using: &random)
        _ = interpreter.completions(in: source, at: cursor)
        _ = interpreter.inspect(source, at: cursor)
        do {
            try interpreter.run(source) { value in
                _ = value.display()
            }
            return true
        } catch let error as ScriptError {
            expectLocated(error, in: source, count: count, lines: lines)
            #expect(error.rendered().contains(error.message))
            return false
        } catch {
            Issue.record("not a ScriptError for \(Value.quote(source)): \(error)")
            return false
        }
    }

    static func expectLocated(_ error: ScriptError, in source: String, count: Int, lines: Int) {
        let r = error.range
        let inside = r.start.line >= 1 && r.start.line <= lines && r.start.column >= 1
            && r.start.offset >= 0 && r.start.offset <= r.end.offset && r.end.offset <= count
        #expect(inside, "\(Value.quote(source)): error at \(r.start)-\(r.end) (offsets \(r.start.offset)-\(r.end.offset)): \(error.message)")
    }

    static func randomInput(_ random: inout SeededGenerator) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 1...40, using: &random) {
            if Int.random(in: 0..<20, using: &random) == 0 {
                out.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0...127, using: &random)))
            } else {
                out += pieces.randomElement(using: &random)!
                if Bool.random(using: &random) { out += " " }
            }
        }
        return out
    }

    /// A syntactically valid program of a few statements whose values are random: it reaches
    /// the evaluator's paths (and its type and range errors) far more often than noise does.
    static func randomProgram(_ random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 1...4, using: &random)).map { _ in
            let e = randomExpression(&random, depth: 0)
            return Bool.random(using: &random) ? "\(["x", "y", "xs"].randomElement(using: &random)!) = \(e)" : e
        }.joined(separator: Bool.random(using: &random) ? "\n" : "; ")
    }

    static func randomExpression(_ random: inout SeededGenerator, depth: Int) -> String {
        let leaves = ["0", "1", "-2", "3.5", "1e15", "9007199254740993", "\"ab\"", "\"\"", "true", "false", "none",
                      "x", "y", "xs", "args", "len", "[]", "0..<3", "1...4"]
        if depth > 3 || Int.random(in: 0..<3, using: &random) == 0 { return leaves.randomElement(using: &random)! }
        func sub(_ random: inout SeededGenerator) -> String { randomExpression(&random, depth: depth + 1) }
        switch Int.random(in: 0..<9, using: &random) {
        case 0:
            let op = ["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "and", "or"].randomElement(using: &random)!
            return "(\(sub(&random)) \(op) \(sub(&random)))"
        case 1: return "\(["-", "not "].randomElement(using: &random)!)\(sub(&random))"
        case 2: return "[\(sub(&random)), \(sub(&random))]"
        case 3: return "(\(sub(&random)))..<(\(sub(&random)))"
        case 4: return "\(sub(&random))[\(sub(&random))]"
        case 5: return "\(sub(&random)).\(["name", "rows", "columns", "text", "x"].randomElement(using: &random)!)"
        case 6:
            let f = ["len", "str", "type", "range", "print", "help", "vars", "nope"].randomElement(using: &random)!
            let keyword = Bool.random(using: &random) ? ", \(["step", "separator", "topic", "bad"].randomElement(using: &random)!): \(sub(&random))" : ""
            return "\(f)(\(sub(&random))\(keyword))"
        case 7: return "range(\(sub(&random)), \(sub(&random)), \(sub(&random)))"
        default: return "vars()[\(sub(&random))]"
        }
    }

    static func mutatedInput(_ random: inout SeededGenerator) -> String {
        var scalars = Array(corpus.randomElement(using: &random)!.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let i = Int.random(in: 0...scalars.count, using: &random)
            let j = min(scalars.count, i + Int.random(in: 0...6, using: &random))
            switch Int.random(in: 0..<5, using: &random) {
            case 0: scalars.removeSubrange(i..<j)
            case 1: scalars.insert(contentsOf: pieces.randomElement(using: &random)!.unicodeScalars, at: i)
            case 2: scalars.insert(contentsOf: scalars[i..<j], at: j)
            case 3 where i < scalars.count:
                scalars[i] = Unicode.Scalar(UInt8.random(in: 32...126, using: &random))
            default: scalars.removeSubrange(j...)
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    @Test("deep but legal nesting evaluates without running out of stack")
    func deepNesting() throws {
        let interpreter = Self.sandbox()
        let sum = "1" + String(repeating: " + 1", count: 250)
        #expect(try interpreter.evaluate(sum) == .number(251))
        let parens = String(repeating: "(", count: 62) + "2" + String(repeating: ")", count: 62)
        #expect(try interpreter.evaluate(parens) == .number(2))
        let lists = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(try interpreter.evaluate("len(\(lists))") == .number(1))
        // Statements can nest values deeper than any literal: shown cut, compared, freed.
        try interpreter.run("x = 0")
        for _ in 0..<300 { try interpreter.run("x = [x]") }
        #expect(try interpreter.evaluate("x").written().hasPrefix("[[[[["))
        #expect(try interpreter.evaluate("x == x") == .bool(true))
    }
}
