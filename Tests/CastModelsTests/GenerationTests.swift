import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// Largest |a − b| over two equal-length rows.
func maxAbsDifference(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

/// Generation on the real models. Serialized: the tests share one loaded model at a time.
@Suite("Generation", .serialized)
struct GenerationTests {
    /// Feeds `chunks` of ids through one KV cache (each chunk one call, the last-row logits
    /// kept), then recomputes the whole sequence without a cache and compares each chunk's
    /// last position. Returns the largest difference.
    static func cacheVersusFull(_ model: Transformer, chunks: [[Int32]]) throws -> Float {
        let cache = KVCache(config: model.config)
        var cached: [[Float]] = []
        for chunk in chunks {
            let batch = KVCacheBatch(caches: [cache], segments: [(0, 0, chunk.count)])
            cached.append(try model.nextTokenLogits(chunk, batch: batch).scalars)
        }
        let all = chunks.flatMap { $0 }
        #expect(cache.length == all.count)
        let full = try model.logits([all])
        let vocab = model.config.vocabularySize
        var worst: Float = 0, position = 0
        for (chunk, row) in zip(chunks, cached) {
            position += chunk.count
            let fullRow = UnsafeBufferPointer(start: full.data + (position - 1) * vocab, count: vocab)
            worst = max(worst, row.withUnsafeBufferPointer { maxAbsDifference($0, fullRow) })
        }
        return worst
    }

    /// Greedy continuation of `prompt` by `steps` tokens, one cached call per token.
    static func greedyChunks(_ model: Transformer, prompt: [Int32], steps: Int) throws -> [[Int32]] {
        let result = try Generator(model: model).generate(
            prompts: [prompt.map(Int.init)], options: GenerationOptions(maxNewTokens: steps, stopTokens: []))
        var ids = result.sequences[0].ids
        // An end-of-generation token is not kept; keep decoding past it with a fixed token.
        while ids.count < steps { ids.append(Int(prompt.last!)) }
        return [prompt] + ids.prefix(steps).map { [Int32($0)] }
    }

    /// Decoding with the cache (prefill, then one token per call) equals recomputing the
    /// whole sequence, within 1e-3 on every logit.
    @Test("KV-cache decoding equals full recomputation", arguments: ["smollm2-135m", "qwen2.5-0.5b"])
    func cacheEqualsFull(name: String) throws {
        let model = try TestModels.model(name)
        let prompt = try #require(model.tokenizer).encode("The quick brown fox jumps over the lazy dog because").map(Int32.init)
        let chunks = try Self.greedyChunks(model, prompt: prompt, steps: 5)
        let worst = try Self.cacheVersusFull(model, chunks: chunks)
        #expect(worst < 1e-3, "\(name): max |cached − full| = \(worst)")
    }

    /// Gemma 3's local layers see only the last 512 positions. A prompt of > 600 tokens,
    /// fed in two chunks (the second attending across the window edge), then 4 decoded
    /// tokens, must match the full recomputation within 1e-3.
    @Test("Gemma 3 KV cache past the sliding window equals full recomputation")
    func gemmaSlidingWindow() throws {
        let model = try TestModels.model("gemma3-270m")
        #expect(model.config.slidingWindow == 512)
        let tokenizer = try #require(model.tokenizer)
        let prompt = try Self.longText(tokenizer, atLeast: 620).map(Int32.init)
        let steps = try Self.greedyChunks(model, prompt: prompt, steps: 4)
        let chunks = [Array(prompt[..<300]), Array(prompt[300...])] + steps.dropFirst()
        let worst = try Self.cacheVersusFull(model, chunks: chunks)
        #expect(worst < 1e-3, "gemma3: max |cached − full| = \(worst)")
    }

    /// Wikipedia extracts (sorted by title) joined until the text has `count` tokens.
    static func longText(_ tokenizer: Tokenizer, atLeast count: Int) throws -> [Int] {
        struct Article: Decodable { let extract: String }
        let url = try ModelStore.path(for: "wiki")
        let articles = try JSONDecoder().decode([String: Article].self, from: Data(contentsOf: url))
        var text = ""
        for title in articles.keys.sorted() {
            text += articles[title]!.extract + "\n\n"
            let ids = tokenizer.encode(text)
            if ids.count >= count { return Array(ids.prefix(count)) }
        }
        throw ModelError.invalidInput("the wiki corpus has fewer than \(count) tokens")
    }

    @Test("greedy 'The capital of France is' continues with ' Paris'", arguments: ["smollm2-135m", "qwen2.5-0.5b"])
    func paris(name: String) throws {
        let generator = Generator(model: try TestModels.model(name))
        let result = try generator.generate(texts: ["The capital of France is"],
                                            options: GenerationOptions(maxNewTokens: 3))
        #expect(result.sequences[0].text.hasPrefix(" Paris"), "\(name) continued with \(result.sequences[0].text.debugDescription)")
        #expect(result.sequences[0].finishReason == .maxTokens)
    }

    /// Prompts of different lengths generated together and one by one: the same greedy
    /// tokens, and every sampled position's logits within 5e-4. The GEMMs see different
    /// row counts, so OpenBLAS sums in a different order: measured ≤ 5e-5 for prompts of
    /// several tokens, up to 2.4e-4 (logits ≈ 30) after the one-token prompt, whose
    /// position-0 activations are large. A mixed-up segment gives differences of order 1.
    @Test("batched generation equals unbatched")
    func batchedEqualsUnbatched() throws {
        let model = try TestModels.model("smollm2-135m")
        let generator = Generator(model: model)
        let texts = ["Hello", "The history of the Roman Empire began when a small city",
                     "List three colours:", "def fibonacci(n):\n    # returns the n-th Fibonacci number\n"]
        let prompts = try texts.map { try generator.promptIds(for: $0) }
        #expect(Set(prompts.map(\.count)).count == texts.count)
        let options = GenerationOptions(maxNewTokens: 8)
        var batchedLogits: [[[Float]]] = Array(repeating: [], count: texts.count)
        let batched = try generator.generate(prompts: prompts, options: options,
                                             onLogits: { batchedLogits[$0].append(Array($1)) })
        for (i, prompt) in prompts.enumerated() {
            var single: [[Float]] = []
            let alone = try generator.generate(prompts: [prompt], options: options, onLogits: { single.append(Array($1)) })
            #expect(alone.sequences[0].ids == batched.sequences[i].ids, "prompt \(i)")
            #expect(single.count == batchedLogits[i].count)
            for (a, b) in zip(single, batchedLogits[i]) {
                let worst = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { maxAbsDifference(pa, $0) } }
                #expect(worst < 5e-4, "prompt \(i): max |batched − alone| = \(worst)")
            }
        }
        #expect(batched.timing.promptTokens == prompts.reduce(0) { $0 + $1.count })
        #expect(batched.timing.decodeTokensPerSecond > 0)
    }

    @Test("stop tokens and stop strings end a sequence; streamed text equals the result")
    func stops() throws {
        let generator = Generator(model: try TestModels.model("smollm2-135m"))
        let prompt = "The three primary colours are"
        let free = try generator.generate(texts: [prompt], options: GenerationOptions(maxNewTokens: 10))
        let ids = free.sequences[0].ids
        #expect(ids.count == 10)
        // The first token whose earlier copies do not occur becomes a stop token.
        let cut = try #require((1..<ids.count).first { !ids[..<$0].contains(ids[$0]) })
        let byToken = try generator.generate(texts: [prompt], options: GenerationOptions(maxNewTokens: 10, stopTokens: [ids[cut]]))
        #expect(byToken.sequences[0].ids == Array(ids[..<cut]))
        #expect(byToken.sequences[0].finishReason == .endOfGeneration)

        // A stop string from the middle of the free text.
        let text = free.sequences[0].text
        let stop = String(text.dropFirst(text.count / 2).prefix(3))
        var streamed = "", finishes: [FinishReason] = []
        let byString = try generator.generate(texts: [prompt], options: GenerationOptions(maxNewTokens: 10, stopStrings: [stop]),
                                              onToken: {
            streamed += $0.text
            if let reason = $0.finishReason { finishes.append(reason) }
        })
        let expected = String(text[..<text.range(of: stop)!.lowerBound])
        #expect(byString.sequences[0].text == expected)
        #expect(streamed == expected)
        #expect(finishes == [.stopString])
        #expect(byString.sequences[0].finishReason == .stopString)
    }

    @Test("the chat template's end-of-turn token ends a chat answer and is not in the text")
    func chatEndOfTurn() throws {
        let generator = Generator(model: try TestModels.model("smollm2-135m"))
        let result = try generator.generate(texts: ["What is 2 + 2? Reply with just the number."], chat: true,
                                            options: GenerationOptions(maxNewTokens: 24))
        let answer = result.sequences[0]
        #expect(answer.finishReason == .endOfGeneration, "answer: \(answer.text.debugDescription)")
        #expect(answer.text.contains("4"))
        #expect(!answer.text.contains("<|im_end|>"))
    }

    @Test("shouldStop ends every sequence cleanly, keeping what was generated")
    func shouldStop() throws {
        let generator = Generator(model: try TestModels.model("smollm2-135m"))
        var checks = 0
        var events: [GenerationEvent] = []
        // Checked before the prefill, then before each decode step: stop before the 2nd step.
        let result = try generator.generate(texts: ["Once upon a time", "In 1905, Einstein"],
                                            options: GenerationOptions(maxNewTokens: 50),
                                            shouldStop: { checks += 1; return checks == 3 },
                                            onToken: { events.append($0) })
        for (i, sequence) in result.sequences.enumerated() {
            #expect(sequence.finishReason == .interrupted)
            #expect(sequence.ids.count == 2)
            #expect(sequence.text == generator.model.tokenizer!.decode(sequence.ids))
            let mine = events.filter { $0.sequence == i }
            #expect(mine.map(\.token) == sequence.ids.map(Optional.some) + [nil])
            #expect(mine.map(\.text).joined() == sequence.text)
        }
        let none = try generator.generate(texts: ["Hi"], shouldStop: { true })
        #expect(none.sequences[0].ids.isEmpty && none.sequences[0].finishReason == .interrupted)
    }

    @Test("bad prompts and cache segments throw clear errors")
    func badInput() throws {
        let model = try TestModels.model("smollm2-135m")
        let generator = Generator(model: model)
        #expect(throws: ModelError.self) { try generator.generate(prompts: [[1, 2], []]) }
        #expect(throws: ModelError.self) { try generator.generate(prompts: [[1, model.config.vocabularySize]]) }
        let cache = KVCache(config: model.config)
        let gap = KVCacheBatch(caches: [cache], segments: [(0, 1, 2)])
        #expect(throws: ModelError.self) { try model.nextTokenLogits([1, 2, 3], batch: gap) }
        #expect(cache.length == 0)
        // The generator can be used again after an error.
        #expect(try generator.generate(prompts: [[1, 2]], options: GenerationOptions(maxNewTokens: 1)).sequences[0].ids.count == 1)
    }
}

/// Opt-in timing (CAST_GENERATION_BENCH=1): single-prompt prefill/decode speed and the
/// batched throughput of 64 prompts × 16 new tokens on smollm2-135m. Prints, asserts only
/// that the run completed.
@Suite("GenerationBenchmark", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["CAST_GENERATION_BENCH"] == "1"))
struct GenerationBenchmark {
    @Test func throughput() throws {
        let model = try TestModels.model("smollm2-135m")
        let generator = Generator(model: model)
        let tokenizer = try #require(model.tokenizer)
        let long = try GenerationTests.longText(tokenizer, atLeast: 256)
        let options = GenerationOptions(maxNewTokens: 64)
        _ = try generator.generate(prompts: [Array(long.prefix(16))], options: GenerationOptions(maxNewTokens: 2))
        let single = try generator.generate(prompts: [long], options: options).timing
        print(String(format: "single: %d-token prompt, prefill %.1f tok/s; decode %d tokens %.1f tok/s",
                     single.promptTokens, single.prefillTokensPerSecond, single.decodeTokens, single.decodeTokensPerSecond))
        let prompts = (0..<64).map { i in Array(long[(i * 3)..<(i * 3 + 8 + i % 9)]) }
        let start = Date()
        let batched = try generator.generate(prompts: prompts, options: GenerationOptions(maxNewTokens: 16)).timing
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "batched: 64 prompts (%d tokens), prefill %.1f tok/s; %d decode steps, %d tokens, decode %.1f tok/s; %d sampled in %.2f s (%.1f tok/s overall)",
                     batched.promptTokens, batched.prefillTokensPerSecond, batched.decodeSteps, batched.decodeTokens,
                     batched.decodeTokensPerSecond, batched.generatedTokens, seconds, Double(batched.generatedTokens) / seconds))
        #expect(batched.generatedTokens > 64)
    }
}
