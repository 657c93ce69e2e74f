import CastTensor
import Foundation

/// Batched text generation with per-sequence KV caches. All prompts are prefilled in one
/// forward call (one segment each); then every unfinished sequence advances one token per
/// decode call, so the projections run as one GEMM over the batch.
public final class Generator {
    public let model: Transformer
    /// Adapters applied to every call of this generator.
    public let adapters: AdapterSet
    /// Arithmetic of products with packed weights (`.int8`: llama.cpp's precision).
    public let arithmetic: PackedArithmetic
    /// Caches kept between calls so their buffers are reused.
    private var cachePool: [KVCache] = []

    public init(model: Transformer, adapters: AdapterSet = .none, arithmetic: PackedArithmetic = .float32) {
        self.model = model
        self.adapters = adapters
        self.arithmetic = arithmetic
    }

    private var tokenizer: Tokenizer? { model.tokenizer }

    /// Prompt ids for `text`: the chat template around one user turn (after an optional
    /// system turn) when `chat`, else the text with the model's BOS and special tokens parsed.
    public func promptIds(for text: String, chat: Bool = false, system: String? = nil) throws -> [Int] {
        guard let tokenizer else { throw ModelError.invalidInput("\(model.name): the model has no tokenizer") }
        guard chat else { return tokenizer.encode(text, addSpecial: true, parseSpecial: true) }
        var messages: [ChatMessage] = []
        if let system { messages.append(.system(system)) }
        messages.append(.user(text))
        return try tokenizer.encodeChat(messages, addGenerationPrompt: true)
    }

    /// Continues each text prompt (see `promptIds(for:chat:system:)`).
    public func generate(texts: [String], chat: Bool = false, system: String? = nil,
                         options: GenerationOptions = GenerationOptions(),
                         shouldStop: () -> Bool = { false },
                         onToken: ((GenerationEvent) -> Void)? = nil) throws -> GenerationResult {
        let prompts = try texts.map { try promptIds(for: $0, chat: chat, system: system) }
        return try generate(prompts: prompts, options: options, shouldStop: shouldStop, onToken: onToken)
    }

    /// Continues each prompt of token ids.
    /// - Parameters:
    ///   - shouldStop: checked before the prefill and between decode steps; when it returns
    ///     true the unfinished sequences end as `.interrupted`, keeping their tokens.
    ///   - onLogits: sees each sequence's next-token logits (`sequence`, row) before sampling.
    ///   - onToken: one event per sampled token per sequence, in sequence order each step.
    ///   - tap: reads the activations of every token of each prompt + generation as the
    ///     cached calls compute them (activation capture): the prefill, each decode step,
    ///     and, after the last step, one closing call over the last tokens that were sampled
    ///     but never fed (sequences that ended by length or a stop string). A sequence ended
    ///     by an end-of-generation token was fed its last kept token in the step that chose
    ///     it; one stopped by the context or by `shouldStop` gets no closing row. Nothing
    ///     runs when `maxNewTokens` is 0. Nil, the default, adds no work.
    public func generate(prompts: [[Int]], options: GenerationOptions = GenerationOptions(),
                         shouldStop: () -> Bool = { false },
                         onLogits: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil,
                         onToken: ((GenerationEvent) -> Void)? = nil,
                         tap: (any ForwardTap)? = nil) throws -> GenerationResult {
        try check(prompts, options)
        var run = Run(generator: self, prompts: prompts, options: options)
        var timing = GenerationTiming()
        timing.sequences = prompts.count
        timing.promptTokens = prompts.reduce(0) { $0 + $1.count }
        guard options.maxNewTokens > 0 else {
            for i in prompts.indices { run.outputs[i].finishReason = .maxTokens }
            return GenerationResult(sequences: run.outputs, timing: timing)
        }
        let caches = takeCaches(prompts.count)
        defer { cachePool = caches }

        if shouldStop() {
            run.interruptAll(onToken)
            return GenerationResult(sequences: run.outputs, timing: timing)
        }
        // Prefill: every prompt in one call, one segment each.
        var start = Date()
        var segments: [(cache: Int, start: Int, count: Int)] = []
        var row = 0
        for (i, prompt) in prompts.enumerated() {
            segments.append((i, row, prompt.count))
            row += prompt.count
        }
        var logits = try model.nextTokenLogits(prompts.flatMap { $0.map(Int32.init) },
                                               batch: KVCacheBatch(caches: caches, segments: segments),
                                               adapters: adapters, arithmetic: arithmetic, tap: tap)
        run.consume(logits, rows: Array(prompts.indices), caches: caches, onLogits: onLogits, onToken: onToken)
        timing.prefillSeconds = Date().timeIntervalSince(start)

        // Decode: one row per unfinished sequence, its last sampled token (an unfinished
        // sequence has kept every token it sampled).
        start = Date()
        while !run.active.isEmpty {
            if shouldStop() {
                run.interruptAll(onToken)
                break
            }
            let active = run.active
            let ids = active.map { Int32(run.outputs[$0].ids.last!) }
            let batch = KVCacheBatch(caches: caches, segments: active.enumerated().map { ($1, $0, 1) })
            logits = try model.nextTokenLogits(ids, batch: batch, adapters: adapters, arithmetic: arithmetic, tap: tap)
            timing.decodeSteps += 1
            timing.decodeTokens += active.count
            run.consume(logits, rows: active, caches: caches, onLogits: onLogits, onToken: onToken)
        }
        if let tap {
            // The tap's closing call: last tokens that were kept but never fed (no logits).
            let unfed = prompts.indices.filter {
                [.maxTokens, .stopString].contains(run.outputs[$0].finishReason) && caches[$0].length < model.config.contextLength
            }
            if !unfed.isEmpty {
                let batch = KVCacheBatch(caches: caches, segments: unfed.enumerated().map { ($1, $0, 1) })
                _ = try model.forwardCached(unfed.map { Int32(run.outputs[$0].ids.last!) }, batch: batch,
                                            adapters: adapters, arithmetic: arithmetic, tap: tap)
                timing.decodeSteps += 1
                timing.decodeTokens += unfed.count
            }
        }
        timing.decodeSeconds = Date().timeIntervalSince(start)
        timing.generatedTokens = run.sampledCount
        return GenerationResult(sequences: run.outputs, timing: timing)
    }

    private func check(_ prompts: [[Int]], _ options: GenerationOptions) throws {
        try options.sampling.validate()
        guard options.maxNewTokens >= 0 else {
            throw ModelError.invalidInput("generate: max new tokens must be ≥ 0, got \(options.maxNewTokens)")
        }
        if !options.stopStrings.isEmpty, tokenizer == nil {
            throw ModelError.invalidInput("generate: stop strings need a tokenizer; \(model.name) has none")
        }
        for (i, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw ModelError.invalidInput("generate: prompt \(i) is empty") }
            if let bad = prompt.firstIndex(where: { $0 < 0 || $0 >= model.config.vocabularySize }) {
                throw ModelError.invalidInput("generate: prompt \(i) has token id \(prompt[bad]) at index \(bad), "
                                              + "outside \(model.name)'s vocabulary (size \(model.config.vocabularySize))")
            }
            guard prompt.count < model.config.contextLength else {
                throw ModelError.invalidInput(
                    "generate: prompt \(i) has \(prompt.count) tokens; \(model.name)'s context is \(model.config.contextLength)")
            }
        }
    }

    private func takeCaches(_ count: Int) -> [KVCache] {
        var caches = cachePool
        cachePool = []
        while caches.count < count { caches.append(KVCache(config: model.config)) }
        caches.removeLast(caches.count - count)
        for cache in caches { cache.reset() }
        return caches
    }
}

/// The state of one `generate` call: outputs, samplers, text builders, who is still going.
private struct Run {
    let options: GenerationOptions
    let contextLength: Int
    let tokenizer: Tokenizer?
    let stopTokens: Set<Int>
    var outputs: [GeneratedSequence]
    var samplers: [Sampler]
    var texts: [GeneratedText?]
    var finished: [Bool]
    var sampledCount = 0

    init(generator: Generator, prompts: [[Int]], options: GenerationOptions) {
        self.options = options
        contextLength = generator.model.config.contextLength
        tokenizer = generator.model.tokenizer
        stopTokens = Set(options.stopTokens)
        outputs = prompts.map { GeneratedSequence(promptIds: $0) }
        samplers = prompts.indices.map { Sampler(options: options.sampling, sequence: $0) }
        texts = prompts.map { prompt in
            generator.model.tokenizer.map {
                GeneratedText(tokenizer: $0, stopStrings: options.stopStrings, lastPromptToken: prompt.last!)
            }
        }
        finished = Array(repeating: false, count: prompts.count)
    }

    var active: [Int] { finished.indices.filter { !finished[$0] } }

    /// Samples sequence `rows[r]`'s next token from logits row r, then applies the stops.
    mutating func consume(_ logits: Tensor, rows: [Int], caches: [KVCache],
                          onLogits: ((Int, UnsafeBufferPointer<Float>) -> Void)?,
                          onToken: ((GenerationEvent) -> Void)?) {
        let vocab = logits.shape[1]
        for (r, i) in rows.enumerated() {
            let row = UnsafeBufferPointer(start: logits.data + r * vocab, count: vocab)
            onLogits?(i, row)
            let token = samplers[i].sample(row)
            sampledCount += 1
            var reason: FinishReason?
            if stopTokens.contains(token) || tokenizer?.isEndOfGeneration(token) == true {
                reason = .endOfGeneration
            } else {
                outputs[i].ids.append(token)
                if texts[i]?.append(token) == true { reason = .stopString }
            }
            if reason == nil, outputs[i].ids.count >= options.maxNewTokens { reason = .maxTokens }
            if reason == nil, caches[i].length + 1 > contextLength { reason = .contextFull }
            let text = texts[i]?.takeReady(final: reason != nil) ?? ""
            if let reason { finish(i, reason) }
            onToken?(GenerationEvent(sequence: i, token: token, text: text, finishReason: reason))
        }
    }

    mutating func finish(_ i: Int, _ reason: FinishReason) {
        finished[i] = true
        outputs[i].finishReason = reason
        outputs[i].text = texts[i]?.text ?? ""
    }

    /// `shouldStop` fired: end every unfinished sequence, flushing held-back text.
    mutating func interruptAll(_ onToken: ((GenerationEvent) -> Void)?) {
        for i in active {
            let text = texts[i]?.takeReady(final: true) ?? ""
            finish(i, .interrupted)
            onToken?(GenerationEvent(sequence: i, token: nil, text: text, finishReason: .interrupted))
        }
    }
}
