/// Draws a figure as an SVG document of fixed size (`SVGDocument.width` × `height`): the
/// frame (title, axis labels, notes) and the chart its kind asks for.
public struct SVGRenderer: Sendable {
    public init() {}

    public func render(_ figure: Figure) throws -> String {
        let checked = try CheckedFigure(figure)
        let frame = SVGFrame(figure: checked.figure, notes: checked.notes)
        var svg = SVGDocument()
        let area: (left: Double, right: Double, top: Double, bottom: Double)
        switch checked.figure.chart {
        case .line(let chart):
            area = SVGLinePlot(chart: chart, frame: frame).draw(into: &svg)
        case .scatter(let chart):
            area = SVGScatterPlot(chart: chart, frame: frame).draw(into: &svg)
        case .bar(let chart):
            area = SVGBarPlot(chart: chart, frame: frame).draw(into: &svg)
        case .heatmap(let heatmap):
            area = SVGHeatmap(heatmap: heatmap, frame: frame).draw(into: &svg)
        }
        frame.draw(into: &svg, plotLeft: area.left, plotRight: area.right, plotTop: area.top, plotBottom: area.bottom)
        return svg.rendered(title: figure.title.isEmpty ? figure.summary : figure.title)
    }
}
