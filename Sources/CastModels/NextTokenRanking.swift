import Foundation

/// The likeliest next tokens of one logits row, and the row's log-sum-exp (so a logit
/// becomes a probability over the whole vocabulary). One place for `cast logits` and the
/// language's `logits`.
public struct NextTokenRanking {
    /// Token ids, highest logit first; ties go to the lower id.
    public let best: [Int]
    public let logSumExp: Double

    public init(_ row: [Float], top: Int) {
        best = Self.top(row, count: top)
        let maximum = Double(row.max() ?? 0)
        logSumExp = maximum + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) })
    }

    public func probability(of logit: Float) -> Double { Foundation.exp(Double(logit) - logSumExp) }

    /// The `count` largest by a single pass that keeps a sorted shortlist: a full sort of a
    /// 150k-token row cost milliseconds per call.
    static func top(_ row: [Float], count: Int) -> [Int] {
        let k = min(max(count, 0), row.count)
        guard k > 0 else { return [] }
        func before(_ a: Int, _ b: Int) -> Bool { row[a] != row[b] ? row[a] > row[b] : a < b }
        // Inserting into the shortlist is O(k) each; past a few hundred a sort is cheaper.
        if k > 256 { return Array(row.indices.sorted(by: before).prefix(k)) }
        var shortlist: [Int] = []
        shortlist.reserveCapacity(k + 1)
        for id in row.indices {
            if shortlist.count == k, !before(id, shortlist[k - 1]) { continue }
            // Insert in order (k is small: a top list of tens).
            var position = shortlist.count
            while position > 0, before(id, shortlist[position - 1]) { position -= 1 }
            shortlist.insert(id, at: position)
            if shortlist.count > k { shortlist.removeLast() }
        }
        return shortlist
    }
}
