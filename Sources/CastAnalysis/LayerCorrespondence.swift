import CastAdapters

/// A suggested target-layer → source-layer map from a similarity matrix (`scores[t][s]`:
/// target layer t against source layer s): the order-preserving assignment (s never
/// decreases as t grows, as depth does in both models) with the largest total score, found
/// by dynamic programming. Scores are best taken in excess of the permutation baseline.
public struct LayerCorrespondence: Sendable, Equatable {
    /// Target layer → source layer.
    public let pairs: [Int: Int]
    /// Target layer → source layer of its highest score, ignoring order.
    public let best: [Int: Int]

    /// `targetLayers[t]` and `sourceLayers[s]` name the matrix's rows and columns.
    public init(scores: [[Double]], targetLayers: [Int], sourceLayers: [Int]) throws {
        let t = scores.count, s = scores.first?.count ?? 0
        guard t > 0, s > 0, scores.allSatisfy({ $0.count == s }), targetLayers.count == t, sourceLayers.count == s else {
            throw AnalysisError("layer correspondence needs a full matrix with one label per row and column")
        }
        let clean = scores.map { $0.map { $0.isFinite ? $0 : -1e9 } }
        // total[i][j]: the best score of rows 0...i with row i on column j.
        var total = clean
        var from = [[Int]](repeating: [Int](repeating: 0, count: s), count: t)
        for i in 1..<t {
            var bestSoFar = -Double.infinity, arg = 0
            for j in 0..<s {
                if total[i - 1][j] > bestSoFar { bestSoFar = total[i - 1][j]; arg = j }
                total[i][j] = clean[i][j] + bestSoFar
                from[i][j] = arg
            }
        }
        var j = total[t - 1].indices.max { total[t - 1][$0] < total[t - 1][$1] }!
        var chosen = [Int](repeating: 0, count: t)
        for i in stride(from: t - 1, through: 0, by: -1) {
            chosen[i] = j
            if i > 0 { j = from[i][j] }
        }
        var pairs: [Int: Int] = [:], best: [Int: Int] = [:]
        for i in 0..<t {
            pairs[targetLayers[i]] = sourceLayers[chosen[i]]
            best[targetLayers[i]] = sourceLayers[clean[i].indices.max { clean[i][$0] < clean[i][$1] }!]
        }
        self.pairs = pairs
        self.best = best
    }

    /// The map CAST takes (`--layer-map`): explicit target:source pairs.
    public var mapping: LayerMapping { .explicit(pairs) }
}
