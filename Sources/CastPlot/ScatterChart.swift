/// Points, each optionally in a named category (its model, layer or token class), which
/// picks its colour and its legend entry.
public struct ScatterChart: Sendable {
    public var x: [Double]
    public var y: [Double]
    /// One per point, or nil for a single unnamed group.
    public var categories: [String]?

    public init(x: [Double], y: [Double], categories: [String]? = nil) {
        self.x = x
        self.y = y
        self.categories = categories
    }

    /// The category names in order of first appearance (the legend's order).
    public var categoryOrder: [String] {
        var seen = Set<String>(), order: [String] = []
        for c in categories ?? [] where seen.insert(c).inserted { order.append(c) }
        return order
    }

    func cleaned() throws -> (ScatterChart, notes: [String]) {
        guard x.count == y.count else { throw PlotError("scatter has \(x.count) x values but \(y.count) y values") }
        if let categories, categories.count != x.count {
            throw PlotError("scatter has \(x.count) points but \(categories.count) categories")
        }
        guard !x.isEmpty else { throw PlotError("a scatter plot needs at least one point") }
        var clean = ScatterChart(x: [], y: [], categories: categories == nil ? nil : [])
        for i in x.indices where x[i].isFinite && y[i].isFinite {
            clean.x.append(x[i])
            clean.y.append(y[i])
            if let categories { clean.categories!.append(categories[i]) }
        }
        let dropped = x.count - clean.x.count
        guard !clean.x.isEmpty else { throw PlotError("no finite points to plot (all \(x.count) are nan or inf)") }
        return (clean, dropped > 0 ? ["dropped \(dropped) non-finite point\(dropped == 1 ? "" : "s")"] : [])
    }
}
