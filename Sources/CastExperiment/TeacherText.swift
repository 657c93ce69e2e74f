import CastAdapters
import CastModels
import Foundation

/// Text the teacher (source + LoRA) writes, to distil on instead of general text, kept in a
/// file beside the adapter it trains so that a resumed run distils on the very same text:
/// - `prompts` nil: the self-text route, no task data at all (continuations of corpus
///   prefixes and of empty documents);
/// - `prompts` given: the user's unlabelled prompts, each continued by the teacher (its
///   own answers; no answer of the user's is read).
/// The file is reused when it was written for the same teacher, options, prompts and base
/// corpus, and written again otherwise.
public enum TeacherText {
    public struct Request: Sendable {
        public var prompts: [String]?
        public var options = SelfText.Options()
        public init(prompts: [String]? = nil, options: SelfText.Options = SelfText.Options()) {
            self.prompts = prompts
            self.options = options
        }
    }

    public static let fileName = "teacher_text.json"

    struct Stored: Codable {
        let key: String
        let documents: [String]
        let generatedTokens: Int
        let seconds: Double
        enum CodingKeys: String, CodingKey { case key, documents, generatedTokens = "generated_tokens", seconds }
    }

    /// What identifies the text: the teacher's adapter, the options, the prompts, the corpus.
    static func key(_ request: Request, adapter: SourceAdapterIdentity, teacher: String, base: TextCorpus) throws -> String {
        var parts = ["teacher": teacher, "adapter": try ArtifactCache.canonical(adapter.sha256), "code": ArtifactCache.codeVersion,
                     "options": try ArtifactCache.canonical(request.options), "corpus": base.name]
        if let prompts = request.prompts { parts["prompts"] = try ArtifactCache.canonical(prompts) }
        return ArtifactCache.digest(try ArtifactCache.canonical(parts))
    }

    /// The teacher's documents from `folder`'s file when it holds this request's, else
    /// written now (`progress` counts documents) and saved atomically; nil when `shouldStop`
    /// stopped the writing (nothing is saved then). `reused` says which.
    public static func prepare(_ request: Request, in folder: URL, teacher: Transformer, adapters: AdapterSet,
                               adapter: SourceAdapterIdentity, base: TextCorpus, shouldStop: () -> Bool = { false },
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> (text: SelfText, reused: Bool)? {
        let key = try key(request, adapter: adapter, teacher: teacher.name, base: base)
        let url = folder.appendingPathComponent(fileName)
        if let data = FileManager.default.contents(atPath: url.path),
           let stored = try? JSONDecoder().decode(Stored.self, from: data), stored.key == key, !stored.documents.isEmpty {
            return (SelfText(documents: stored.documents, generatedTokens: stored.generatedTokens, seconds: stored.seconds), true)
        }
        let written = try SelfText.write(teacher: teacher, adapters: adapters, prompts: request.prompts, corpus: base,
                                         options: request.options, shouldStop: shouldStop, progress: progress)
        guard let written else { return nil }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Stored(key: key, documents: written.documents, generatedTokens: written.generatedTokens,
                                  seconds: written.seconds)).write(to: url, options: .atomic)
        return (written, false)
    }

    /// How the corpus is described in the adapter's config.
    public static func describe(_ request: Request, base: TextCorpus, source: String?) -> String {
        let what = request.prompts.map { "answers to \($0.count) prompts" + (source.map { " from \($0)" } ?? "") }
            ?? "continuations of \(base.name) prefixes and empty documents"
        return "teacher text: \(request.options.documents) documents of \(request.options.tokens) new tokens, \(what); "
            + "held out: \(base.name)"
    }
}
