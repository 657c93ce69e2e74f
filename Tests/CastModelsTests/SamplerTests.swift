import CastTensor
import Foundation
import Testing
@testable import CastModels

@Suite("Sampler")
struct SamplerTests {
    /// Logits whose softmax (T = 1) is exactly `probabilities`.
    static func logits(_ probabilities: [Double]) -> [Float] { probabilities.map { Float(log($0)) } }

    static func randomLogits(_ count: Int, seed: UInt64, scale: Float = 3) -> [Float] {
        Tensor.randomNormal([count], std: scale, seed: seed).scalars
    }

    @Test("temperature 0 is greedy: always the argmax, lowest id among ties")
    func temperatureZeroIsGreedy() {
        for seed in 0..<20 as Range<UInt64> {
            let logits = Self.randomLogits(1000, seed: seed)
            let expected = logits.indices.max { logits[$0] < logits[$1] }!
            var sampler = Sampler(options: SamplingOptions(temperature: 0, topP: 0.5, topK: 3, seed: seed))
            for _ in 0..<5 { #expect(sampler.sample(logits) == expected) }
        }
        #expect(Sampler.argmax([1, 5, 5, 2]) == 1)
        #expect(Sampler.argmax([.nan, -1, .nan]) == 1)
    }

    @Test("top-p keeps the smallest most-likely set reaching p, renormalised")
    func topPExample() {
        let logits = Self.logits([0.05, 0.5, 0.15, 0.3])
        func kept(_ p: Float) -> [Int] {
            Sampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: p)).map(\.id)
        }
        #expect(kept(0.4) == [1])
        #expect(kept(0.75) == [1, 3])
        #expect(kept(0.85) == [1, 3, 2])
        #expect(kept(1) == [1, 3, 2, 0])
        let two = Sampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: 0.75))
        #expect(abs(two[0].probability - 0.625) < 1e-6)
        #expect(abs(two[1].probability - 0.375) < 1e-6)
    }

    /// On random logits and temperatures, the kept set is a prefix of the tokens sorted by
    /// probability whose mass reaches p while the set without its last token does not.
    @Test("top-p minimality on random logits", arguments: [0.1, 0.5, 0.9, 0.99] as [Float])
    func topPMinimal(p: Float) {
        for seed in 0..<10 as Range<UInt64> {
            let logits = Self.randomLogits(5000, seed: 100 + seed)
            let temperature: Float = [0.5, 1, 1.7][Int(seed) % 3]
            let scaled = logits.map { Double($0) / Double(temperature) }
            let top = scaled.max()!
            let total = scaled.reduce(0) { $0 + exp($1 - top) }
            let probabilities = scaled.map { exp($0 - top) / total }
            let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
            let kept = Sampler.candidates(logits, options: SamplingOptions(temperature: temperature, topP: p))
            #expect(kept.map(\.id) == Array(order.prefix(kept.count)))
            let mass = kept.reduce(0) { $0 + probabilities[$1.id] }
            #expect(mass >= Double(p) - 1e-9)
            #expect(mass - probabilities[kept.last!.id] < Double(p))
            #expect(abs(kept.reduce(0) { $0 + $1.probability } - 1) < 1e-9)
        }
    }

    @Test("top-k keeps the k most likely tokens, then top-p applies to them")
    func topK() {
        let logits = Self.logits([0.05, 0.5, 0.15, 0.3])
        let k2 = Sampler.candidates(logits, options: SamplingOptions(temperature: 1, topK: 2))
        #expect(k2.map(\.id) == [1, 3])
        let k3p = Sampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: 0.9, topK: 3))
        // Among {0.5, 0.3, 0.15} (mass 0.95), 0.9 of it (0.855) needs all three.
        #expect(k3p.map(\.id) == [1, 3, 2])
        let k3small = Sampler.candidates(logits, options: SamplingOptions(temperature: 1, topP: 0.8, topK: 3))
        #expect(k3small.map(\.id) == [1, 3])
    }

    @Test("the same seed gives the same tokens; another seed other tokens")
    func seeded() {
        let logits = Self.randomLogits(2000, seed: 9, scale: 1)
        let options = SamplingOptions(temperature: 1.2, topP: 0.95, seed: 42)
        func draw(_ options: SamplingOptions) -> [Int] {
            var sampler = Sampler(options: options)
            return (0..<100).map { _ in sampler.sample(logits) }
        }
        #expect(draw(options) == draw(options))
        var other = options
        other.seed = 43
        #expect(draw(options) != draw(other))
        #expect(Set(draw(options)).count > 10)   // it does sample, not repeat the argmax
    }

    /// 40,000 draws: each frequency within 0.015 of its probability (≈ 6 standard errors).
    @Test("draw frequencies follow the probabilities")
    func frequencies() {
        let probabilities = [0.5, 0.3, 0.15, 0.05]
        var sampler = Sampler(options: SamplingOptions(temperature: 1, seed: 1))
        var counts = [0, 0, 0, 0]
        let logits = Self.logits(probabilities)
        for _ in 0..<40_000 { counts[sampler.sample(logits)] += 1 }
        for (count, p) in zip(counts, probabilities) { #expect(abs(Double(count) / 40_000 - p) < 0.015) }
    }

    @Test("options decode from JSON with defaults for missing keys and reject bad values")
    func optionsJSON() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(SamplingOptions.self, from: Data("{}".utf8)) == .greedy)
        let some = try decoder.decode(SamplingOptions.self, from: Data(#"{"temperature": 0.7, "top_p": 0.9, "seed": 5}"#.utf8))
        #expect(some == SamplingOptions(temperature: 0.7, topP: 0.9, topK: 0, seed: 5))
        #expect(throws: ModelError.self) { try decoder.decode(SamplingOptions.self, from: Data(#"{"top_p": 0}"#.utf8)) }
        #expect(throws: ModelError.self) { try decoder.decode(SamplingOptions.self, from: Data(#"{"temperature": -1}"#.utf8)) }
        let generation = try decoder.decode(GenerationOptions.self, from: Data(#"{"max_new_tokens": 5, "stop": ["\n"]}"#.utf8))
        #expect(generation == GenerationOptions(maxNewTokens: 5, stopStrings: ["\n"]))
        let roundTrip = try decoder.decode(GenerationOptions.self, from: JSONEncoder().encode(generation))
        #expect(roundTrip == generation)
    }
}
