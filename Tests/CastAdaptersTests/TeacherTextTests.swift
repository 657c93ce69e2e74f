import CastAdapters
import CastExperiment
import CastModels
import CastTestSupport
import Foundation
import Testing

/// The teacher's own text as what CAST distils on: kept beside the adapter, reused when the
/// same text is asked for, written anew when anything that shapes it changed; and
/// `cast transfer --prompts / --self-text` on a real model.
@Suite("Teacher text for cast transfer")
struct TeacherTextTests {
    static func base() throws -> TextCorpus {
        try TextCorpus(name: "tiny", documents: (0..<6).map { "Document number \($0) talks about rivers and mountains in spring." })
    }

    static func identity(_ folder: URL) throws -> SourceAdapterIdentity {
        let model = try TestModels.model("smollm2-135m")
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj"], layers: [1]),
                                   seed: 1, bStd: 0.02)
        try PEFTAdapterFolder.save(lora, for: model.config, to: folder)
        return try SourceAdapterIdentity(of: folder.path)
    }

    @Test func writtenOnceThenReusedUntilTheRequestChanges() throws {
        let root = try TestSupport.temporaryFolder()
        let model = try TestModels.model("smollm2-135m")
        let identity = try Self.identity(root.appendingPathComponent("lora"))
        let adapters = try LoRAAdapter.load(root.appendingPathComponent("lora").path, for: model.config).adapters
        var request = TeacherText.Request(prompts: ["Compute 2 + 3.\nAnswer:", "Reverse the word cat.\nAnswer:"])
        request.options.documents = 3
        request.options.tokens = 5
        let out = root.appendingPathComponent("out")
        func prepare(_ request: TeacherText.Request, stop: Bool = false) throws -> (text: SelfText, reused: Bool)? {
            try TeacherText.prepare(request, in: out, teacher: model, adapters: adapters, adapter: identity, base: try Self.base(),
                                    shouldStop: { stop })
        }
        #expect(try prepare(request, stop: true) == nil)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(TeacherText.fileName).path), "a stopped writing keeps nothing")
        let first = try #require(try prepare(request))
        #expect(!first.reused && first.text.documents.count == 3 && first.text.documents[1].hasPrefix(request.prompts![1]))
        let again = try #require(try prepare(request))
        #expect(again.reused && again.text.documents == first.text.documents)
        request.options.seed = 1
        let reseeded = try #require(try prepare(request))
        #expect(!reseeded.reused)
        request.prompts = nil
        let free = try #require(try prepare(request))
        #expect(!free.reused && free.text.documents[0].hasPrefix("Document number"))
        // A damaged file is written again, never read as text.
        try Data("{\"key\": ".utf8).write(to: out.appendingPathComponent(TeacherText.fileName))
        #expect(try #require(try prepare(request)).reused == false)
    }

    /// The user's path: `cast transfer --prompts FILE` writes the teacher's answers beside the
    /// adapter, names the text in cast_config.json, reuses it on --resume, and refuses to
    /// resume on other text; bad prompt files and clashing flags are clear errors.
    @Test func transferDistilsOnTheTeachersAnswers() throws {
        let root = try TestSupport.temporaryFolder()
        let loraFolder = root.appendingPathComponent("lora")
        _ = try Self.identity(loraFolder)
        let prompts = root.appendingPathComponent("prompts.jsonl")
        try Data("{\"prompt\": \"Compute 2 + 3.\\nAnswer:\"}\n{\"prompt\": \"Compute 7 + 1.\\nAnswer:\"}\n".utf8).write(to: prompts)
        let out = root.appendingPathComponent("cast")
        let flags = ["transfer", "--source", "smollm2-135m", "--adapter", loraFolder.path, "--target", "smollm2-135m",
                     "--out", out.path, "--batch-size", "2", "--window", "16", "--held-out", "0", "--json",
                     "--text-documents", "4", "--text-tokens", "12"]
        let first = try TestSupport.runCast(flags + ["--steps", "2", "--prompts", prompts.path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.split(separator: "\n").filter { $0.contains("\"step\"") }.count == 2)
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(TeacherText.fileName))) as? [String: Any]
        let documents = try #require(stored?["documents"] as? [String])
        #expect(documents.count == 4 && documents[0].hasPrefix("Compute 2 + 3.\nAnswer:") && documents[1].hasPrefix("Compute 7 + 1.\nAnswer:"))
        let config = try CastAdapterFolder.config(out)
        #expect(config.corpus?.contains("answers to 2 prompts from \(prompts.path)") == true, "\(config.corpus ?? "nil")")
        let resumed = try TestSupport.runCast(flags + ["--steps", "3", "--prompts", prompts.path, "--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("teacher text: 4 documents, as written before"), "\(resumed.stderr)")
        #expect(try CastAdapterFolder.config(out).step == 3)
        let other = try TestSupport.runCast(flags + ["--steps", "4", "--self-text", "--resume"])
        #expect(other.status != 0 && other.stderr.contains("was distilled on teacher text: 4 documents of 12 new tokens, answers to 2 prompts"),
                "\(other.stderr)")
        let both = try TestSupport.runCast(flags + ["--prompts", prompts.path, "--self-text"])
        #expect(both.status != 0 && both.stderr.contains("--prompts and --self-text are two sources of teacher text"))
        try Data("{\"prompt\": \"a\"}\n{\"answer\": \"b\"}\n".utf8).write(to: prompts)
        let bad = try TestSupport.runCast(flags + ["--prompts", prompts.path])
        #expect(bad.status != 0 && bad.stderr.contains("\(prompts.path):2: field 'prompt' must be a non-empty string"), "\(bad.stderr)")
    }
}
