import CastTensor
import Foundation

/// How the next token is chosen from the logits. The defaults are greedy decoding.
/// Decoding JSON, every missing key keeps its default (`{}` is valid).
public struct SamplingOptions: Codable, Sendable, Equatable {
    /// Softmax temperature; 0 (or below) means greedy: always the most likely token.
    public var temperature: Float = 0
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability
    /// reaches `topP` (1 keeps every token).
    public var topP: Float = 1
    /// Keep only the `topK` most likely tokens (0 keeps every token).
    public var topK: Int = 0
    /// Seed of the random generator; the same seed and logits give the same tokens.
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topP: Float = 1, topK: Int = 0, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.seed = seed
    }

    public static let greedy = SamplingOptions()

    public var isGreedy: Bool { temperature <= 0 }

    private enum CodingKeys: String, CodingKey { case temperature, topP = "top_p", topK = "top_k", seed }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? 0
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? 1
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? 0
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        try validate()
    }

    /// Throws when a value is out of range (NaN, negative, top-p outside (0, 1]).
    public func validate() throws {
        guard temperature.isFinite, temperature >= 0 else {
            throw ModelError.invalidInput("sampling: temperature must be a finite number ≥ 0, got \(temperature)")
        }
        guard topP > 0, topP <= 1 else {
            throw ModelError.invalidInput("sampling: top_p must be in (0, 1], got \(topP)")
        }
        guard topK >= 0 else {
            throw ModelError.invalidInput("sampling: top_k must be ≥ 0 (0 = off), got \(topK)")
        }
    }
}

/// Draws tokens from logits: greedy, or temperature → top-k → top-p, then a seeded draw.
/// One sampler per sequence; its generator advances one draw per sampled token.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SeededGenerator

    public init(options: SamplingOptions = .greedy) {
        self.options = options
        rng = SeededGenerator(seed: options.seed)
    }

    /// A sampler for sequence `index` of a batch: its own stream derived from the seed, so a
    /// sequence draws the same tokens whatever else is in the batch.
    public init(options: SamplingOptions, sequence index: Int) {
        self.options = options
        rng = SeededGenerator(seed: options.seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The next token for one row of logits.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if options.isGreedy { return Self.argmax(logits) }
        let kept = Self.candidates(logits, options: options)
        // One uniform draw walks the kept tokens' cumulative probabilities.
        let u = Double(rng.nextUniform())
        var cumulative = 0.0
        for candidate in kept {
            cumulative += candidate.probability
            if u < cumulative { return candidate.id }
        }
        return kept.last?.id ?? Self.argmax(logits)
    }

    public mutating func sample(_ logits: [Float]) -> Int {
        logits.withUnsafeBufferPointer { sample($0) }
    }

    /// Index of the largest logit (the lowest index among ties; NaN never wins).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0, bestValue = -Float.infinity
        for i in logits.indices where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return best
    }

    public static func argmax(_ logits: [Float]) -> Int { logits.withUnsafeBufferPointer { argmax($0) } }

    /// The tokens sampling may choose and their renormalised probabilities, most likely
    /// first (ties: lower id first). Greedy options give the single argmax token.
    public static func candidates(_ logits: UnsafeBufferPointer<Float>,
                                  options: SamplingOptions) -> [(id: Int, probability: Double)] {
        guard !options.isGreedy, !logits.isEmpty else { return logits.isEmpty ? [] : [(argmax(logits), 1)] }
        let top = logits[argmax(logits)]
        let invT = 1 / Double(options.temperature)
        // Unnormalised probabilities exp((z − max)/T), in double so tiny ones still count.
        var weights = [Double](repeating: 0, count: logits.count)
        var total = 0.0
        for i in logits.indices where !logits[i].isNaN {
            let w = Foundation.exp((Double(logits[i]) - Double(top)) * invT)
            weights[i] = w
            total += w
        }
        // A token below (1 − p)/V of the mass cannot be needed to reach p (all of them
        // together hold less than 1 − p), so only the rest is sorted.
        let floor = options.topP >= 1 ? 0 : total * (1 - Double(options.topP)) / Double(logits.count)
        var pool: [(id: Int, probability: Double)] = []
        var pooled = 0.0
        for i in weights.indices where weights[i] > 0 && weights[i] >= floor {
            pool.append((i, weights[i]))
            pooled += weights[i]
        }
        // Rounding left the pool short of p, or top-k needs more tokens than it holds: take all.
        if pooled < total * Double(options.topP) || pool.count < options.topK {
            pool = weights.indices.filter { weights[$0] > 0 }.map { ($0, weights[$0]) }
        }
        pool.sort { $0.probability != $1.probability ? $0.probability > $1.probability : $0.id < $1.id }
        // The mass top-p measures against: every token, or the k that top-k keeps.
        var mass = total
        if options.topK > 0, pool.count >= options.topK {
            pool.removeLast(pool.count - options.topK)
            mass = pool.reduce(0) { $0 + $1.probability }
        }
        // Top-p: the shortest prefix whose share reaches p.
        var count = 0, cumulative = 0.0
        while count < pool.count {
            cumulative += pool[count].probability
            count += 1
            if cumulative >= Double(options.topP) * mass { break }
        }
        pool.removeLast(pool.count - count)
        return pool.map { ($0.id, $0.probability / cumulative) }
    }

    public static func candidates(_ logits: [Float], options: SamplingOptions) -> [(id: Int, probability: Double)] {
        logits.withUnsafeBufferPointer { candidates($0, options: options) }
    }
}
