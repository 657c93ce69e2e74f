/// Labelled bars from zero, optionally with their running total as a line (explained
/// variance per component and cumulative).
public struct BarChart: Sendable {
    public var labels: [String]
    public var values: [Double]
    public var cumulative: Bool

    public init(labels: [String]? = nil, values: [Double], cumulative: Bool = false) {
        self.labels = labels ?? values.indices.map { String($0 + 1) }
        self.values = values
        self.cumulative = cumulative
    }

    /// The running totals of the values (non-finite ones count as 0).
    var runningTotals: [Double] {
        var total = 0.0
        return values.map { total += $0.isFinite ? $0 : 0; return total }
    }

    func checked() throws -> [String] {
        guard !values.isEmpty else { throw PlotError("a bar chart needs at least one value") }
        guard labels.count == values.count else { throw PlotError("bar chart has \(values.count) values but \(labels.count) labels") }
        let missing = values.filter { !$0.isFinite }.count
        guard missing < values.count else { throw PlotError("no finite values to plot (all \(values.count) are nan or inf)") }
        return missing > 0 ? ["\(missing) non-finite bar\(missing == 1 ? "" : "s") left out"] : []
    }
}
