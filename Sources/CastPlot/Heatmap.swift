/// A matrix of numbers drawn as coloured cells (a CKA similarity matrix, say), with row and
/// column labels and a colour scale.
public struct Heatmap: Sendable {
    /// Rows of equal length; non-finite cells are drawn empty.
    public var values: [[Double]]
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// Print each cell's value in it; nil: when the cells are large enough.
    public var showValues: Bool?
    /// The values the colour scale spans; nil: the data's minimum to maximum.
    public var range: ClosedRange<Double>?

    public init(values: [[Double]], rowLabels: [String]? = nil, columnLabels: [String]? = nil,
                showValues: Bool? = nil, range: ClosedRange<Double>? = nil) {
        self.values = values
        self.rowLabels = rowLabels ?? values.indices.map(String.init)
        self.columnLabels = columnLabels ?? (values.first ?? []).indices.map(String.init)
        self.showValues = showValues
        self.range = range
    }

    var rowCount: Int { values.count }
    var columnCount: Int { values.first?.count ?? 0 }

    /// The colour scale's span: `range`, else the finite values' extent (widened when flat).
    var scaleRange: ClosedRange<Double> {
        if let range { return range }
        let finite = values.joined().filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return lo < hi ? lo...hi : (lo - 0.5)...(hi + 0.5)
    }

    /// The position of `value` on the colour scale, 0…1 (clamped).
    func fraction(_ value: Double) -> Double {
        let r = scaleRange
        let t = (value - r.lowerBound) / (r.upperBound - r.lowerBound)
        return t.isNaN ? 0.5 : min(1, max(0, t))
    }

    func checked() throws -> [String] {
        guard !values.isEmpty, columnCount > 0 else { throw PlotError("a heatmap needs at least one row and one column") }
        if let bad = values.firstIndex(where: { $0.count != columnCount }) {
            throw PlotError("heatmap row \(bad) has \(values[bad].count) values but row 0 has \(columnCount)")
        }
        guard rowLabels.count == rowCount else { throw PlotError("heatmap has \(rowCount) rows but \(rowLabels.count) row labels") }
        guard columnLabels.count == columnCount else {
            throw PlotError("heatmap has \(columnCount) columns but \(columnLabels.count) column labels")
        }
        if let range, !(range.lowerBound.isFinite && range.upperBound.isFinite && range.lowerBound < range.upperBound) {
            throw PlotError("heatmap range must be two finite numbers, low < high")
        }
        let missing = values.joined().filter { !$0.isFinite }.count
        return missing > 0 ? ["\(missing) non-finite cell\(missing == 1 ? "" : "s") left empty"] : []
    }
}
