import CastAdapters
import Foundation
import Testing

@Suite("Prompt files: the unlabelled prompts the teacher answers")
struct PromptListTests {
    static func parse(_ text: String) throws -> [String] { try PromptList.parse(Data(text.utf8), source: "p.jsonl") }

    @Test func jsonlReadsPromptsAndLeavesTheTestSplitOut() throws {
        let text = """
            {"prompt": "Compute 1 + 2.\\nAnswer:", "answer": "3", "split": "train"}

            {"prompt": "Compute 4 + 4.\\nAnswer:", "answer": "8", "split": "test"}
            {"prompt": "Reverse cat.", "id": 7}
            """
        #expect(try Self.parse(text) == ["Compute 1 + 2.\nAnswer:", "Reverse cat."])
        // A task file, as `task` writes it, gives exactly its train prompts.
        let suite = try TaskSuite.load("arith")
        #expect(try PromptList.parse(Data(try suite.jsonl().utf8), source: "arith.jsonl") == suite.train.map(\.prompt))
    }

    @Test func plainTextIsOnePromptALine() throws {
        #expect(try Self.parse("What is 2 + 2?\\nAnswer:\r\n\n  Reverse the word dog.\n") == ["What is 2 + 2?\nAnswer:", "  Reverse the word dog."])
    }

    @Test func badFilesNameTheLineAndTheField() throws {
        func message(_ text: String) -> String? {
            do { _ = try Self.parse(text); return nil } catch { return "\(error)" }
        }
        #expect(message("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"") == "p.jsonl:2: not a JSON object (a JSONL prompts file has one object a line, from its first line on)")
        #expect(message("{\"prompt\": \"a\"}\n{\"answer\": \"b\"}") == "p.jsonl:2: field 'prompt' must be a non-empty string")
        #expect(message("{\"prompt\": 3}") == "p.jsonl:1: field 'prompt' must be a non-empty string")
        #expect(message("\n  \n") == "p.jsonl: no prompts (empty, or only test-split lines)")
        #expect(message("{\"prompt\": \"a\", \"split\": \"test\"}") == "p.jsonl: no prompts (empty, or only test-split lines)")
        #expect(throws: AdapterError.self) { try PromptList.parse(Data([0xff, 0xfe, 0x41]), source: "p.txt") }
        #expect(throws: AdapterError.self) { try PromptList.load("/nonexistent/prompts.txt") }
    }
}
