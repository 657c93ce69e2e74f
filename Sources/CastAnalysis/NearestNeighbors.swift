/// Each token's k nearest other tokens by cosine similarity of its mean-centred activations,
/// and the mutual k-nearest-neighbour alignment of two representations (Huh et al. 2024):
/// the mean share of each token's neighbours the two agree on. 1 = the same neighbourhoods,
/// ≈ k/(n − 1) for unrelated ones.
public struct NearestNeighbors: Sendable {
    public let k: Int
    /// `lists[i]`: the k nearest tokens of token i, nearest first.
    public let lists: [[Int]]

    /// Neighbours from a linear centred gram (whose entries are the centred rows' products).
    public init(_ gram: CenteredGram, k: Int) throws {
        let n = gram.count
        guard k >= 1, k < n else {
            throw AnalysisError("mutual k-NN: k = \(k) needs between 1 and \(n - 1) (tokens − 1)")
        }
        let g = gram.values
        let norms = (0..<n).map { Double(g[$0 * n + $0]).squareRoot() }
        lists = (0..<n).map { i in
            var scored: [(Double, Int)] = []
            scored.reserveCapacity(n - 1)
            for j in 0..<n where j != i {
                let denominator = norms[i] * norms[j]
                scored.append((denominator > 0 ? Double(g[i * n + j]) / denominator : -2, j))
            }
            scored.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
            return scored.prefix(k).map(\.1)
        }
        self.k = k
    }

    /// The mean over tokens of |N_a(i) ∩ N_b(i)| / k.
    public static func mutualAlignment(_ a: NearestNeighbors, _ b: NearestNeighbors) throws -> Double {
        guard a.lists.count == b.lists.count, a.k == b.k else {
            throw AnalysisError("mutual k-NN compares the same tokens with the same k: got \(a.lists.count) and \(b.lists.count) tokens")
        }
        var total = 0.0
        for (x, y) in zip(a.lists, b.lists) { total += Double(Set(x).intersection(y).count) / Double(a.k) }
        return total / Double(a.lists.count)
    }
}
