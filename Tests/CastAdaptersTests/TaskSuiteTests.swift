import CastAdapters
import CastTestSupport
import Foundation
import Testing

@Suite("Task suites: built-in generators, JSONL files, splits, bad lines")
struct TaskSuiteTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The committed `datasets/<task>.jsonl` files are exactly what the seeded generators
    /// write, and read back to the same suite.
    @Test(arguments: TaskGenerators.all.map(\.name))
    func committedFilesMatchTheGenerator(_ name: String) throws {
        let suite = try TaskGenerators.named(name)!.suite()
        let url = Self.repository.appendingPathComponent("datasets/\(name).jsonl")
        #expect(try String(contentsOf: url, encoding: .utf8) == suite.jsonl(), "regenerate with `cast tasks --write datasets`")
        let read = try TaskSuite.load(url.path)
        #expect(read.train == suite.train && read.test == suite.test)
        #expect(Set(suite.train.map(\.prompt)).isDisjoint(with: suite.test.map(\.prompt)))
        #expect(suite.train.count == 800 && suite.test.count == 200)
    }

    /// Without split fields, one prompt in five goes to test by a hash of the prompt: the same
    /// split in any order of the lines.
    @Test func hashSplitIgnoresLineOrder() throws {
        let lines = (0..<500).map { "{\"prompt\": \"q\($0)\", \"answer\": \"a\($0)\"}" }
        let a = try TaskSuite.parse(Data(lines.joined(separator: "\n").utf8), name: "t", source: "t.jsonl")
        let b = try TaskSuite.parse(Data(lines.reversed().joined(separator: "\n").utf8), name: "t", source: "t.jsonl")
        #expect(Set(a.test.map(\.prompt)) == Set(b.test.map(\.prompt)))
        #expect((70...130).contains(a.test.count), "test split \(a.test.count) of 500")
    }

    @Test(arguments: [
        ("{\"prompt\": \"p\", \"answer\": \"a\"}\n{\"prompt\": \"p2\", \"answer\": }", "t.jsonl:2: not a JSON object"),
        ("{\"prompt\": \"p\"}", "t.jsonl:1: field 'answer' must be a non-empty string"),
        ("{\"prompt\": 3, \"answer\": \"a\"}", "t.jsonl:1: field 'prompt' must be a non-empty string"),
        ("{\"prompt\": \"p\", \"answer\": \"a\", \"split\": \"dev\"}", "t.jsonl:1: field 'split' must be \"train\" or \"test\", found \"dev\""),
        ("{\"prompt\": \"p\", \"answer\": \"a\", \"label\": 1}", "t.jsonl:1: unknown field 'label' (expected prompt, answer and optionally split)"),
        ("{\"prompt\": \"p\", \"answer\": \"a\", \"split\": \"train\"}", "t.jsonl: task t: the test split is empty"),
    ])
    func badFilesNameTheLine(_ text: String, _ message: String) {
        #expect(throws: AdapterError(message)) { try TaskSuite.parse(Data(text.utf8), name: "t", source: "t.jsonl") }
    }

    @Test func unknownTaskNamesTheBuiltIns() {
        #expect(throws: AdapterError("task 'nope': no such file and no built-in task of that name (built-in: arith, dates, reverse)")) {
            try TaskSuite.load("nope")
        }
    }
}
