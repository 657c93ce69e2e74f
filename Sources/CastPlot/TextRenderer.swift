/// Draws a figure as terminal text no wider than `width` columns: braille dots for lines
/// and points, shaded blocks for heatmaps and bars, with tick labels, the axis labels, a
/// legend and notes on data that could not be drawn.
public struct TextRenderer: Sendable {
    public static let defaultWidth = 72
    public var width: Int
    /// Rows of the plot area (lines and scatter).
    public var height: Int

    public init(width: Int = TextRenderer.defaultWidth, height: Int = 14) {
        self.width = max(24, width)
        self.height = max(4, height)
    }

    public func render(_ figure: Figure) throws -> String {
        let checked = try CheckedFigure(figure)
        var lines: [String] = []
        if !figure.title.isEmpty { lines.append(Self.centered(figure.title, width: width)) }
        switch checked.figure.chart {
        case .line, .scatter:
            lines += TextXYPlot(figure: checked.figure, width: width, height: height).lines()
        case .heatmap(let heatmap):
            lines += TextHeatmap(heatmap: heatmap, width: width).lines()
        case .bar(let chart):
            lines += TextBarChart(chart: chart, width: width).lines()
        }
        if !figure.xLabel.isEmpty, case .heatmap = checked.figure.chart {
            lines.append(Self.fitted("columns: \(figure.xLabel)" + (figure.yLabel.isEmpty ? "" : ", rows: \(figure.yLabel)"), width: width))
        }
        lines += checked.notes.map { Self.fitted("note: " + $0, width: width) }
        // The parts keep to the width themselves; cutting here only guards narrow extremes.
        return lines.map { Self.trimmedRight(Self.fitted($0, width: width)) }.joined(separator: "\n")
    }

    /// `text` cut with "…" to `width` characters.
    static func fitted(_ text: String, width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }

    static func centered(_ text: String, width: Int) -> String {
        let fitted = fitted(text, width: width)
        return String(repeating: " ", count: max(0, (width - fitted.count) / 2)) + fitted
    }

    static func padded(_ text: String, to width: Int, right: Bool = false) -> String {
        let fitted = fitted(text, width: width)
        let pad = String(repeating: " ", count: max(0, width - fitted.count))
        return right ? pad + fitted : fitted + pad
    }

    static func trimmedRight(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }
}
