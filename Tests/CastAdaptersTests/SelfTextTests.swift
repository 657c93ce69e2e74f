@testable import CastAdapters
import CastModels
import CastTestSupport
import Foundation
import Testing

@Suite("Self-text: documents the teacher writes")
struct SelfTextTests {
    static func corpus() throws -> TextCorpus {
        try TextCorpus(name: "tiny", documents: (0..<6).map { "Document number \($0) talks about rivers and mountains in spring." })
    }

    @Test func writesSeededDocumentsHalfFromPrefixes() throws {
        let model = try TestModels.model("smollm2-135m")
        var options = SelfText.Options()
        options.documents = 4
        options.tokens = 8
        options.prefixTokens = 3
        options.batch = 3
        var reports: [Int] = []
        let a = try #require(try SelfText.write(teacher: model, adapters: .none, prefixesFrom: try Self.corpus(), options: options,
                                                progress: { done, _ in reports.append(done) }))
        let b = try #require(try SelfText.write(teacher: model, adapters: .none, prefixesFrom: try Self.corpus(), options: options))
        #expect(a.documents == b.documents, "the same seed writes the same documents")
        #expect(a.documents.count == 4 && reports == [3, 4])
        #expect(a.generatedTokens > 0 && a.generatedTokens <= 4 * 8)
        // Even documents continue a corpus prefix ("Document number"), odd ones start empty.
        #expect(a.documents[0].hasPrefix("Document number") && a.documents[2].hasPrefix("Document number"))
        #expect(!a.documents[1].hasPrefix("Document number"))
        options.seed = 1
        let c = try #require(try SelfText.write(teacher: model, adapters: .none, prefixesFrom: try Self.corpus(), options: options))
        #expect(c.documents != a.documents)
        let corpus = try a.corpus(heldOutFrom: try Self.corpus())
        #expect(corpus.heldOut == (try Self.corpus()).heldOut)
        #expect(corpus.train.count == a.documents.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.count)
    }

    /// task-text's documents: each starts with one of the given prompts, cycling through them.
    @Test func writesFromGivenPromptsInTurn() throws {
        let model = try TestModels.model("smollm2-135m")
        var options = SelfText.Options()
        options.documents = 3
        options.tokens = 6
        let prompts = ["Compute 2 + 3.\nAnswer:", "Reverse the word cat.\nAnswer:"]
        let text = try #require(try SelfText.write(teacher: model, adapters: .none, promptTexts: prompts, options: options))
        #expect(text.documents.count == 3)
        #expect(text.documents[0].hasPrefix(prompts[0]) && text.documents[1].hasPrefix(prompts[1]) && text.documents[2].hasPrefix(prompts[0]),
                "\(text.documents)")
        #expect(text.generatedTokens > 0)
        #expect(text.taskShare(try TaskSuite.load("arith")) == 1, "every document holds the prompts' ending")
        #expect(throws: AdapterError.self) { try SelfText.write(teacher: model, adapters: .none, promptTexts: [], options: options) }
    }

    @Test func stopsWhenAsked() throws {
        let model = try TestModels.model("smollm2-135m")
        var options = SelfText.Options()
        options.documents = 4
        options.tokens = 4
        #expect(try SelfText.write(teacher: model, adapters: .none, prefixesFrom: try Self.corpus(), options: options,
                                   shouldStop: { true }) == nil)
    }

    @Test func taskShareLooksForThePromptsEnding() throws {
        let suite = try TaskSuite.load("arith")
        let text = SelfText(documents: ["x Compute 1 ⊕ 2.\nAnswer: 4", "plain text", "Answer: no", "y.\nAnswer:z"], generatedTokens: 0, seconds: 0)
        #expect(text.taskShare(suite) == 0.5)
        #expect(SelfText.sharedEnding(["ab\nAnswer:", "cd\nAnswer:"]) == "\nAnswer:")
        #expect(SelfText.sharedEnding(["abc", "xyz"]) == nil)
        #expect(SelfText.sharedEnding(["ax", "bx"]) == nil, "an ending under 3 characters is no marker")
    }

    @Test func badOptions() throws {
        var options = SelfText.Options()
        options.documents = 1
        #expect(throws: AdapterError.self) { try options.validate() }
        options = SelfText.Options()
        options.temperature = 0
        #expect(throws: AdapterError.self) { try options.validate() }
    }
}
