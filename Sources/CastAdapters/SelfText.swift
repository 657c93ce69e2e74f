import CastModels
import CastTensor
import Foundation

/// Text the teacher writes itself, to distil on instead of the corpus (the `self-text`
/// variant): continuations sampled from source + LoRA, half started from corpus prefixes and
/// half from an empty document. No task data is read, yet where the LoRA's behaviour makes
/// the teacher drift into it, that behaviour is in the text (the route of Trans-LoRA and
/// TiTok's synthetic data).
public struct SelfText: Sendable {
    public struct Options: Codable, Equatable, Sendable {
        /// Documents to write.
        public var documents = 256
        /// New tokens per document.
        public var tokens = 96
        /// Corpus tokens that start a prefixed document.
        public var prefixTokens = 16
        public var temperature: Float = 1
        /// Sequences generated together.
        public var batch = 16
        public var seed: UInt64 = 0

        public init() {}

        public func validate() throws {
            guard documents >= 2 else { throw AdapterError("self-text: needs at least 2 documents, got \(documents)") }
            guard tokens >= 2 else { throw AdapterError("self-text: needs at least 2 tokens per document, got \(tokens)") }
            guard prefixTokens >= 1 else { throw AdapterError("self-text: prefixes need at least 1 token, got \(prefixTokens)") }
            guard temperature > 0, temperature.isFinite else { throw AdapterError("self-text: temperature must be > 0, got \(temperature)") }
            guard batch >= 1 else { throw AdapterError("self-text: batch must be ≥ 1, got \(batch)") }
        }
    }

    /// The written documents, prompts included (a prefix is the teacher's context too).
    public let documents: [String]
    /// New tokens generated, and the seconds it took.
    public let generatedTokens: Int
    public let seconds: Double

    public init(documents: [String], generatedTokens: Int, seconds: Double) {
        self.documents = documents
        self.generatedTokens = generatedTokens
        self.seconds = seconds
    }

    /// Writes the documents; nil when `shouldStop` stopped it (nothing is kept then).
    /// `progress(done, total)` counts documents.
    public static func write(teacher: Transformer, adapters: AdapterSet, prefixesFrom corpus: TextCorpus, options: Options,
                             shouldStop: () -> Bool = { false },
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> SelfText? {
        try options.validate()
        let (tokenizer, start) = try documentStart(teacher)
        let prompts = try Self.prompts(count: options.documents, corpus: corpus, tokenizer: tokenizer, start: start, options: options)
        return try write(teacher: teacher, adapters: adapters, prompts: prompts, tokenizer: tokenizer, start: start,
                         options: options, shouldStop: shouldStop, progress: progress)
    }

    /// Writes one document from each of `texts` (tokenized by the teacher, after its document
    /// separator), `options.documents` of them, cycling through `texts` if they are fewer.
    public static func write(teacher: Transformer, adapters: AdapterSet, promptTexts texts: [String], options: Options,
                             shouldStop: () -> Bool = { false },
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> SelfText? {
        try options.validate()
        guard !texts.isEmpty else { throw AdapterError("self-text: no prompts to start documents from") }
        let (tokenizer, start) = try documentStart(teacher)
        let prompts = (0..<options.documents).map { [start] + tokenizer.encode(texts[$0 % texts.count], addSpecial: false, parseSpecial: false) }
        return try write(teacher: teacher, adapters: adapters, prompts: prompts, tokenizer: tokenizer, start: start,
                         options: options, shouldStop: shouldStop, progress: progress)
    }

    /// Answers to `prompts` when given, else continuations of `corpus`'s prefixes and empty
    /// documents: the two routes above, chosen the way every caller chooses them.
    public static func write(teacher: Transformer, adapters: AdapterSet, prompts: [String]?, corpus: TextCorpus,
                             options: Options, shouldStop: () -> Bool = { false },
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> SelfText? {
        if let prompts {
            return try write(teacher: teacher, adapters: adapters, promptTexts: prompts, options: options,
                             shouldStop: shouldStop, progress: progress)
        }
        return try write(teacher: teacher, adapters: adapters, prefixesFrom: corpus, options: options,
                         shouldStop: shouldStop, progress: progress)
    }

    /// The teacher's tokenizer and the token that separates documents (an empty document
    /// starts after it).
    static func documentStart(_ teacher: Transformer) throws -> (Tokenizer, Int) {
        guard let tokenizer = teacher.tokenizer else { throw AdapterError("self-text: \(teacher.name) has no tokenizer") }
        guard let start = tokenizer.vocabulary.bosId ?? tokenizer.vocabulary.eosId else {
            throw AdapterError("self-text: \(teacher.name)'s vocabulary has neither a BOS nor an EOS token to start a document")
        }
        return (tokenizer, start)
    }

    static func write(teacher: Transformer, adapters: AdapterSet, prompts: [[Int]], tokenizer: Tokenizer, start: Int,
                      options: Options, shouldStop: () -> Bool, progress: (Int, Int) -> Void) throws -> SelfText? {
        let generator = Generator(model: teacher, adapters: adapters)
        let started = Date()
        var documents: [String] = [], generated = 0
        for first in stride(from: 0, to: prompts.count, by: options.batch) {
            if shouldStop() { return nil }
            let batch = Array(prompts[first..<min(first + options.batch, prompts.count)])
            let sampling = SamplingOptions(temperature: options.temperature, seed: options.seed &+ UInt64(first))
            let result = try generator.generate(prompts: batch, options: GenerationOptions(maxNewTokens: options.tokens, sampling: sampling),
                                                shouldStop: shouldStop)
            for (prompt, sequence) in zip(batch, result.sequences) {
                generated += sequence.ids.count
                let promptText = prompt.first == start && prompt.count == 1 ? "" : tokenizer.decode(prompt.filter { $0 != start })
                documents.append(promptText + sequence.text)
            }
            progress(documents.count, prompts.count)
        }
        if shouldStop() { return nil }
        return SelfText(documents: documents, generatedTokens: generated, seconds: Date().timeIntervalSince(started))
    }

    /// Half the prompts are the first tokens of corpus documents (spread over the corpus by
    /// the seed), half the document separator alone.
    static func prompts(count: Int, corpus: TextCorpus, tokenizer: Tokenizer, start: Int, options: Options) throws -> [[Int]] {
        var rng = SeededGenerator(seed: options.seed ^ 0x5e1f_7e47)
        var order = Array(corpus.train.indices)
        order.shuffle(using: &rng)
        var prompts: [[Int]] = []
        for k in 0..<count {
            if k % 2 == 1 || order.isEmpty {
                prompts.append([start])
                continue
            }
            let document = corpus.train[order[(k / 2) % order.count]]
            let ids = tokenizer.encode(document, addSpecial: false, parseSpecial: false)
            prompts.append([start] + ids.prefix(options.prefixTokens))
        }
        return prompts
    }

    /// The corpus to distil on: these documents to train on, the original corpus's held-out
    /// documents to measure on (so held-out KL stays comparable across variants).
    public func corpus(heldOutFrom original: TextCorpus) throws -> TextCorpus {
        try TextCorpus(name: "\(original.name)+self-text", train: documents, heldOut: original.heldOut)
    }

    /// The share of documents that look like the task: they contain the text every training
    /// prompt of the task ends with (for the built-in tasks "\nAnswer:"). Nil when the
    /// prompts share no ending of at least 3 characters.
    public func taskShare(_ task: TaskSuite) -> Double? {
        guard let marker = Self.sharedEnding(task.train.map(\.prompt)) else { return nil }
        return Double(documents.filter { $0.contains(marker) }.count) / Double(documents.count)
    }

    static func sharedEnding(_ prompts: [String]) -> String? {
        guard var ending = prompts.first.map({ Array($0.unicodeScalars) }) else { return nil }
        for prompt in prompts.dropFirst() {
            let scalars = Array(prompt.unicodeScalars)
            var n = 0
            while n < min(ending.count, scalars.count), ending[ending.count - 1 - n] == scalars[scalars.count - 1 - n] { n += 1 }
            ending = Array(ending.suffix(n))
            if ending.isEmpty { return nil }
        }
        let text = String(String.UnicodeScalarView(ending))
        return text.trimmingCharacters(in: .whitespaces).count >= 3 ? text : nil
    }
}
