import CastPlot

/// A picture (`plot(...)`): a checked figure with its SVG and terminal text made once.
/// Shown as the text graphic in a terminal and as SVG in a notebook; `save(p, "f.svg")`
/// writes the SVG.
public final class PlotValue: ScriptObject {
    public static let typeName = "plot"
    public static let summary = "A picture: text graphics in a terminal, SVG in a notebook; p.svg, p.text, save(p, \"f.svg\")."
    public let figure: Figure
    public let svg: String
    public let text: String

    /// Throws `PlotError` when the figure cannot be drawn (no data, lengths that disagree).
    public init(figure: Figure, textWidth: Int = TextRenderer.defaultWidth) throws {
        self.figure = figure
        svg = try figure.svg()
        text = try figure.text(width: textWidth)
    }

    var kind: String {
        switch figure.chart {
        case .line: "line"
        case .scatter: "scatter"
        case .heatmap: "heatmap"
        case .bar: "bar"
        }
    }

    public static var attributes: [Attribute<PlotValue>] {
        [Attribute("kind", "line, scatter, bar or heatmap.") { .string($0.kind) },
         Attribute("title", "The title (\"\" when none).") { .string($0.figure.title) },
         Attribute("xlabel", "The x axis label.") { .string($0.figure.xLabel) },
         Attribute("ylabel", "The y axis label.") { .string($0.figure.yLabel) },
         Attribute("summary", "One line on what it shows.") { .string($0.figure.summary) },
         Attribute("svg", "The SVG document, a string.") { .string($0.svg) },
         Attribute("text", "The text graphic (braille and block characters), a string.") { .string($0.text) }]
    }

    public func display() -> MIMEBundle {
        [MIMEType.plain: text + "\n" + figure.summary, MIMEType.svg: svg]
    }

    public var brief: String { "<plot \(figure.summary)>" }
}
