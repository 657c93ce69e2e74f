import CastTensor

/// Finds the token that dominates a set of activations: most models give their first token
/// (an attention sink) activations hundreds of times larger than the rest, and that one row
/// then *is* the first principal component and drives CKA. Commands warn when it happens.
public enum OutlierTokens {
    /// The row with the largest squared distance from the mean, and its share of the total.
    public static func dominant(_ rows: Tensor) -> (row: Int, share: Double)? {
        guard rows.rank == 2, rows.shape[0] >= 2 else { return nil }
        let n = rows.shape[0], d = rows.shape[1], p = rows.data
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(p[r * d + j]) / Double(n) } }
        var best = 0, bestValue = 0.0, total = 0.0
        for r in 0..<n {
            var s = 0.0
            for j in 0..<d { let v = Double(p[r * d + j]) - mean[j]; s += v * v }
            total += s
            if s > bestValue { bestValue = s; best = r }
        }
        return total > 0 ? (best, bestValue / total) : nil
    }
}
