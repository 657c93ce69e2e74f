import Foundation

/// SplitMix64: one add and two multiply-xorshifts a number. Seeds `SeededGenerator`, and
/// serves alone where a short stream must repeat exactly (CKA's shuffles, test inputs).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A small, seeded, portable random generator (xoshiro256**, seeded by SplitMix64).
/// The same seed gives the same numbers on every machine and thread count.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var seeds = SplitMix64(seed: seed)
        s = (seeds.next(), seeds.next(), seeds.next(), seeds.next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (exactly representable in Float).
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller on two uniforms in (0, 1)).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Normal(mean, std) entries from a seeded generator.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return randomNormal(shape, mean: mean, std: std, using: &rng)
    }

    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using rng: inout SeededGenerator) -> Tensor {
        filled(shape) { mean + std * rng.nextNormal() }
    }

    /// Uniform[low, high) entries from a seeded generator.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return randomUniform(shape, low: low, high: high, using: &rng)
    }

    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using rng: inout SeededGenerator) -> Tensor {
        filled(shape) { low + (high - low) * rng.nextUniform() }
    }

    /// A tensor whose entries, in row-major order, are successive calls of `next`.
    private static func filled(_ shape: [Int], _ next: () -> Float) -> Tensor {
        var t = Tensor(uninitialized: shape)
        let p = t.mutableData
        for i in 0..<t.count { p[i] = next() }
        return t
    }
}
