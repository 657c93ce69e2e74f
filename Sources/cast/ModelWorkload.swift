import CastModels
import CastTensor
import Foundation

/// The token streams `cast bench models` feeds both engines: wiki lead sections (CC BY-SA),
/// tokenized by the model's own tokenizer, so ours and llama.cpp see the same ids.
struct BenchPrompts {
    /// Lead sections in title order, joined: at least `longCount` ids.
    let long: [Int]
    /// `shortCount` prompts of `shortLength` ids, from lead sections spread over the corpus.
    let short: [[Int]]

    static let longCount = 576, shortCount = 64, shortLength = 16

    init(tokenizer: Tokenizer, corpus: URL) throws {
        struct Entry: Decodable { let extract: String }
        let entries = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: corpus))
        let extracts = entries.keys.sorted().map { entries[$0]!.extract }
        guard extracts.count >= Self.shortCount * 100 else {
            throw ValidationErrorMessage("\(corpus.path): expected at least \(Self.shortCount * 100) lead sections, found \(extracts.count)")
        }
        var text = "", tokens: [Int] = []
        for extract in extracts where tokens.count < Self.longCount {
            text += (text.isEmpty ? "" : "\n\n") + extract
            if text.count > 2 * Self.longCount { tokens = tokenizer.encode(text) }
        }
        long = Array(tokens.prefix(Self.longCount))
        short = (0..<Self.shortCount).map { i in
            Array(tokenizer.encode(extracts[i * 100]).prefix(Self.shortLength))
        }
        if long.count < Self.longCount || short.contains(where: { $0.count < Self.shortLength }) {
            throw ValidationErrorMessage("\(corpus.path): the corpus gave too few tokens for the benchmark prompts")
        }
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Our side of `cast bench models`: timed prefill, decode and batched generation on one model,
/// reusing one KV cache the way llama.cpp reuses its context.
struct ModelWorkload {
    let model: Transformer
    let arithmetic: PackedArithmetic
    let cache: KVCache

    init(model: Transformer, arithmetic: PackedArithmetic) {
        self.model = model
        self.arithmetic = arithmetic
        cache = KVCache(config: model.config)
    }

    /// Seconds to run `tokens` through the model in one forward pass from an empty cache,
    /// ending in the next-token logits.
    func prefill(_ tokens: [Int]) throws -> Double {
        cache.reset()
        return try timed { _ = try feed(tokens) }
    }

    /// Seconds to decode `tokens` one forward pass each after an untimed `prompt`.
    func decode(prompt: [Int], tokens: [Int]) throws -> Double {
        cache.reset()
        _ = try feed(prompt)
        return try timed { for token in tokens { _ = try feed([token]) } }
    }

    private func feed(_ tokens: [Int]) throws -> Tensor {
        let batch = KVCacheBatch(caches: [cache], segments: [(cache: 0, start: 0, count: tokens.count)])
        return try model.nextTokenLogits(tokens.map(Int32.init), batch: batch, arithmetic: arithmetic)
    }

    /// Greedy batched generation of up to `newTokens` tokens for every prompt at once with
    /// `Generator` (the prompts in one forward pass, then one row per sequence per step).
    /// Returns the tokens generated and the seconds the whole run took.
    static func generateBatched(_ generator: Generator, prompts: [[Int]],
                                newTokens: Int) throws -> (tokens: Int, seconds: Double) {
        var result: GenerationResult?
        let seconds = try timed {
            result = try generator.generate(prompts: prompts, options: GenerationOptions(maxNewTokens: newTokens))
        }
        return (result!.timing.generatedTokens, seconds)
    }
}

/// What a fresh process measures about its own memory around one model load and use
/// (`cast bench models --probe-rss PATH`, run as a child of the benchmark).
struct MemoryProbe: Codable {
    var peak_rss_bytes: Int
    var weights_bytes: Int
    var kv_cache_bytes: Int

    /// Loads `path`, prefills `tokens` minus the last 64 and decodes those 64 one at a time.
    static func run(path: String, tokens: [Int]) throws -> MemoryProbe {
        let model = try Transformer.loadGGUF(path: path)
        let workload = ModelWorkload(model: model, arithmetic: .float32)
        let decoded = min(64, tokens.count / 2)
        _ = try workload.decode(prompt: Array(tokens.dropLast(decoded)), tokens: Array(tokens.suffix(decoded)))
        let c = model.config
        return MemoryProbe(peak_rss_bytes: try peakRSS(), weights_bytes: model.weights.parameterCount * 4,
                           kv_cache_bytes: 2 * c.layerCount * c.kvWidth * tokens.count * 4)
    }

    /// VmHWM of this process, in bytes.
    static func peakRSS() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else {
            throw ValidationErrorMessage("/proc/self/status: no VmHWM line")
        }
        return kib * 1024
    }
}
