import CastTestSupport
import Foundation
import Testing
@testable import CastScript

@Suite("Completion and inspection")
struct CompletionTests {
    /// An interpreter with every builtin (completion calls none of them) and a few variables.
    func session() -> Interpreter {
        let interpreter = Interpreter()
        interpreter.set("xs", .list([.number(1)]))
        interpreter.set("x_max", .number(3))
        let inner = RecordValue(fields: [("depth", .number(2)), ("width", .number(4))])
        interpreter.set("rec", .object(RecordValue(fields: [("inner", .object(inner)), ("label", .string("a"))])))
        interpreter.set("table", .object(TableValue(columns: ["name", "size"], rows: [[.string("a"), .number(1)]])))
        return interpreter
    }

    /// Completions at the end of `source` (or at `|` when it holds one).
    func complete(_ source: String) -> Completions {
        let interpreter = session()
        if let bar = source.unicodeScalars.firstIndex(of: "|") {
            let cursor = source.unicodeScalars.distance(from: source.unicodeScalars.startIndex, to: bar)
            return interpreter.completions(in: source.replacingOccurrences(of: "|", with: ""), at: cursor)
        }
        return interpreter.completions(in: source, at: source.unicodeScalars.count)
    }

    @Test("names: variables, then builtins, then keywords, by prefix")
    func names() {
        #expect(complete("x").texts == ["x_max", "xs"])
        #expect(complete("y = le").texts == ["len"])
        #expect(complete("y = le").replacing == 4..<6)
        #expect(complete("tr").texts == ["train", "train_lora", "true"])
        #expect(complete("no").texts == ["none", "not"])
        #expect(complete("l|en(xs)").texts == ["len", "load", "load_adapter", "logits", "lora"])
        #expect(complete("l|en(xs)").replacing == 0..<1)
        #expect(complete("").texts.count == 5 + Builtins.all.count)
        #expect(complete("3").texts == [])
        #expect(complete("\"abc\"").texts == [])
        let first = complete("gen").candidates.first
        #expect(first?.kind == .builtin)
        #expect(first?.detail.hasPrefix("generate(model, prompt, max_tokens: 32") == true)
    }

    @Test("keyword arguments of the call under the cursor, those not given yet")
    func keywordArguments() {
        #expect(complete("generate(m, \"x\", max").texts == ["max_tokens: "])
        #expect(complete("generate(m, \"x\", chat: true, t").texts == ["temperature: ", "top_p: ", "top_k: ", "table", "task", "teacher_text", "tokenize", "train", "train_lora", "type", "true"])
        let afterModel = complete("generate(m, ").candidates.filter { $0.kind == .argument }.map(\.text)
        #expect(afterModel == ["prompt: ", "max_tokens: ", "chat: ", "system: ", "temperature: ", "top_p: ", "top_k: ", "seed: ", "stop: ", "adapter: "])
        #expect(complete("generate(m, \"x\",\n   max_tokens: 3, chat: false,\n   s").texts.prefix(3) == ["system: ", "seed: ", "stop: "])
        #expect(complete("generate(m, len(xs), se").texts.first == "seed: ")
        #expect(complete("generate(m, len(x").texts == ["x_max", "xs"])
        #expect(complete("generate(m, [1, se").texts == [])
        #expect(complete("generate(m, \"x\", max_tokens: 3").texts == [])
        #expect(complete("tokenize(m, \"a\", s").texts.first == "special: ")
        #expect(complete("generate(m, \"x\", max_tokens: 3, ").candidates.first?.detail == "bool, default false")
    }

    @Test("attributes after '.', of variables and chains of attributes")
    func attributes() {
        #expect(complete("rec.").texts == ["inner", "label"])
        #expect(complete("rec.inner.w").texts == ["width"])
        #expect(complete("rec.inner.w").replacing == 10..<11)
        #expect(complete("table.").texts == ["columns", "rows", "name", "size"])
        #expect(complete("table.columns.").texts == [])
        #expect(complete("nosuch.").texts == [])
        #expect(complete("load(\"x\").").texts == [])
        #expect(complete("print(rec.l").texts == ["label"])
    }

    @Test("model names and paths inside load's string")
    func strings() throws {
        #expect(complete("m = load(\"smo").texts == ["smollm2-135m"])
        #expect(complete("m = load(\"smo").replacing == 10..<13)
        #expect(complete("m = load(\"").texts == ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b"])
        #expect(complete("load(name: \"qwen").texts == ["qwen2.5-0.5b", "qwen2.5-1.5b"])
        #expect(complete("load(\"smollm2-135m\", weights: \"p").texts == [])
        #expect(complete("print(\"smo").texts == [])
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data().write(to: folder.appendingPathComponent("model.gguf"))
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("mlp"), withIntermediateDirectories: true)
        let listed = complete("load(\"\(folder.path)/m")
        #expect(listed.texts == ["\(folder.path)/mlp/", "\(folder.path)/model.gguf"])
        #expect(listed.candidates.map(\.kind) == [.path, .path])
    }

    @Test("whether an input is complete, for multi-line entry")
    func completeness() {
        let cases: [(String, Completeness)] = [
            ("x = 1", .complete), ("", .complete), ("# note", .complete), ("f(1,\n2)", .complete),
            ("f(1,", .incomplete), ("x = [1,\n  2", .incomplete), ("g(a, [b", .incomplete),
            ("s = \"\"\"first line", .incomplete),
            ("s = \"abc", .invalid), ("x = ", .invalid), (")", .invalid), ("f(1]", .invalid), ("1 +", .invalid),
            ("x = @", .invalid),
        ]
        for (source, expected) in cases {
            #expect(Interpreter.isComplete(source) == expected, "\(source)")
        }
    }

    @Test("inspection: the documentation of the name under the cursor")
    func inspection() {
        let interpreter = session()
        #expect(interpreter.inspect("len(xs)", at: 1) == Builtins.all.first { $0.name == "len" }?.documentation)
        #expect(interpreter.inspect("len(xs)", at: 3) == Builtins.all.first { $0.name == "len" }?.documentation)
        #expect(interpreter.inspect("len(xs)", at: 5) == "xs: list\n[1]")
        #expect(interpreter.inspect("generate(m, \"x\", max_tokens: 3)", at: 20)
                == "generate(… max_tokens: …) — whole number, default 32\nMost new tokens.")
        #expect(interpreter.inspect("rec.inner", at: 7) == ".inner")
        #expect(interpreter.inspect("table.rows", at: 8) == ".rows: The rows, a list of records.")
        #expect(interpreter.inspect("1 + 2", at: 1) == nil)
        #expect(interpreter.inspect("nosuch", at: 2) == nil)
    }
}
