/// A picture to draw: a title, axis labels and one chart. Renderers (`SVGRenderer`,
/// `TextRenderer`) turn it into SVG or terminal text; both check it the same way first.
public struct Figure: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var chart: Chart

    public init(title: String = "", xLabel: String = "", yLabel: String = "", chart: Chart) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.chart = chart
    }

    /// The SVG document (fixed viewBox, see `SVGLayout`).
    public func svg() throws -> String { try SVGRenderer().render(self) }

    /// Text graphics at most `width` columns wide.
    public func text(width: Int = TextRenderer.defaultWidth) throws -> String { try TextRenderer(width: width).render(self) }

    /// One line on what the figure shows: "line plot "loss" (2 series, 300 points)".
    public var summary: String {
        let what: String
        switch chart {
        case .line(let c):
            let points = c.series.reduce(0) { $0 + $1.y.count }
            what = "line plot (\(c.series.count) series, \(points) points)"
        case .scatter(let c):
            let groups = Set(c.categories ?? []).count
            what = "scatter plot (\(c.x.count) points" + (groups > 0 ? ", \(groups) categories)" : ")")
        case .heatmap(let h):
            what = "heatmap (\(h.values.count)×\(h.values.first?.count ?? 0))"
        case .bar(let b):
            what = "bar chart (\(b.values.count) bars)"
        }
        return title.isEmpty ? what : "\(what): \(title)"
    }
}

/// The kinds of chart a figure holds.
public enum Chart: Sendable {
    case line(LineChart)
    case scatter(ScatterChart)
    case heatmap(Heatmap)
    case bar(BarChart)
}
