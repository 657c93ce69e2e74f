import CastTensor
/// Centred kernel alignment (Kornblith et al. 2019): how alike two representations of the
/// same tokens are, ⟨HKH, HLH⟩ / (‖HKH‖·‖HLH‖), 1 for representations equal up to an
/// orthogonal transform and isotropic scaling (linear kernel). Raw CKA is inflated by width
/// and depth, so read it against `permutationBaseline`: the same score with one side's
/// tokens shuffled, i.e. what unrelated rows would get.
public enum CKA {
    /// CKA of two grams over the same tokens.
    public static func similarity(_ a: CenteredGram, _ b: CenteredGram) throws -> Double {
        try check(a, b)
        guard a.norm > 0, b.norm > 0 else { return 0 }
        var s = 0.0
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                for i in 0..<x.count { s += Double(x[i]) * Double(y[i]) }
            }
        }
        return s / (a.norm * b.norm)
    }

    /// CKA of two `[tokens, width]` matrices (rows are the same tokens).
    public static func similarity(_ x: Tensor, _ y: Tensor, kernel: CKAKernel = .linear) throws -> Double {
        try similarity(CenteredGram(x, kernel: kernel), CenteredGram(y, kernel: kernel))
    }

    /// The mean and standard deviation of CKA(a, b with its tokens permuted) over
    /// `permutations` seeded shuffles (a permuted centred gram is the centred gram of the
    /// permuted rows, so no gram is recomputed).
    public static func permutationBaseline(_ a: CenteredGram, _ b: CenteredGram, permutations: Int = 8,
                                           seed: UInt64 = 0) throws -> (mean: Double, standardDeviation: Double) {
        try check(a, b)
        guard permutations >= 1 else { throw AnalysisError("the permutation baseline needs at least 1 permutation") }
        guard a.norm > 0, b.norm > 0 else { return (0, 0) }
        let n = a.count
        var scores: [Double] = []
        var rng = SplitMix64(seed: seed)
        for _ in 0..<permutations {
            var p = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var s = 0.0
            a.values.withUnsafeBufferPointer { x in
                b.values.withUnsafeBufferPointer { y in
                    for i in 0..<n {
                        let row = x.baseAddress! + i * n, other = y.baseAddress! + p[i] * n
                        var t = 0.0
                        for j in 0..<n { t += Double(row[j]) * Double(other[p[j]]) }
                        s += t
                    }
                }
            }
            scores.append(s / (a.norm * b.norm))
        }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(scores.count - 1, 1))
        return (mean, variance.squareRoot())
    }

    private static func check(_ a: CenteredGram, _ b: CenteredGram) throws {
        guard a.count == b.count else {
            throw AnalysisError("CKA compares the same tokens: got \(a.count) and \(b.count) rows")
        }
    }
}

