import CastTensor

/// Activations captured at named points of one model: per point the selected rows
/// (`[tokens, width]`, the same tokens for every point) and/or their running mean and
/// covariance, and where each row came from.
public struct ActivationSet: Sendable {
    public let model: String
    /// The points, in the order the pass computes them.
    public let points: [ActivationPoint]
    public internal(set) var rows: [ActivationPoint: Tensor] = [:]
    public internal(set) var statistics: [ActivationPoint: CovarianceAccumulator] = [:]
    /// One per kept row (in row order).
    public internal(set) var tokens: [CapturedToken] = []
    /// Rows selected in all (equals `tokens.count` when rows are kept).
    public internal(set) var selectedCount = 0
    /// Seconds the capture's tap took (copying rows out of the passes and accumulating
    /// statistics): what capturing added to the forward passes.
    public internal(set) var tapSeconds = 0.0

    public init(model: String, points: [ActivationPoint]) {
        self.model = model
        self.points = points
    }

    /// The rows of `point`, `[tokens, width]`; throws naming the captured points otherwise.
    public func rows(_ point: ActivationPoint) throws -> Tensor {
        if let r = rows[point] { return r }
        if points.contains(point) {
            throw AnalysisError("\(point.name) was captured without keeping its rows (statistics only)")
        }
        throw AnalysisError("\(point.name) was not captured; captured: \(points.map(\.name).joined(separator: ", "))")
    }

    /// The mean and covariance of `point`'s rows (accumulated, or computed from the kept rows).
    public func covariance(_ point: ActivationPoint) throws -> CovarianceAccumulator {
        if let s = statistics[point] { return s }
        let r = try rows(point)
        var s = CovarianceAccumulator(width: r.shape[1])
        try s.add(r)
        return s
    }

    /// The same activations with only rows `indices` (in that order) kept.
    public func selectingRows(_ indices: [Int]) throws -> ActivationSet {
        var out = ActivationSet(model: model, points: points)
        for (point, r) in rows {
            let width = r.shape[1]
            var t = Tensor(zeros: [indices.count, width])
            for (k, i) in indices.enumerated() {
                guard (0..<r.shape[0]).contains(i) else { throw AnalysisError("row \(i) is outside the \(r.shape[0]) captured rows") }
                (t.mutableData + k * width).update(from: r.data + i * width, count: width)
            }
            out.rows[point] = t
        }
        out.tokens = indices.map { tokens[$0] }
        out.selectedCount = indices.count
        return out
    }
}
