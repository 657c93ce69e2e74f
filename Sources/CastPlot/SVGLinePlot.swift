/// Curves on x–y axes: one polyline per series (colour and dash from its index), dots on
/// the points when there are few, a legend naming every series.
struct SVGLinePlot {
    static let dashes: [String?] = [nil, "7 4", "2 3", "9 3 2 3"]
    let chart: LineChart
    let frame: SVGFrame

    var legend: SVGLegend {
        let named = chart.series.count > 1 || !(chart.series.first?.name.isEmpty ?? true)
        guard named else { return SVGLegend(entries: []) }
        return SVGLegend(entries: chart.series.indices.map { i in
            SVGLegend.Entry(name: chart.series[i].name, color: Palette.color(i), swatch: .line(dash: Self.dash(i)))
        })
    }

    /// Solid for the first colours, then dashed as colours repeat.
    static func dash(_ index: Int) -> String? { dashes[Palette.cycle(index) % dashes.count] }

    func draw(into svg: inout SVGDocument) -> (left: Double, right: Double, top: Double, bottom: Double) {
        let xs = chart.series.flatMap(\.x), ys = chart.series.flatMap(\.y)
        let legend = self.legend
        let axes = SVGAxes(frame: frame, xRange: CheckedFigure.extent(xs), yRange: CheckedFigure.extent(ys), logY: chart.logY,
                           rightReserve: legend.width + (legend.entries.isEmpty ? 0 : 8))
        axes.draw(into: &svg)
        let n = SVGDocument.number
        for (i, series) in chart.series.enumerated() {
            let color = Palette.color(i)
            let drawn = LineDecimation.decimated(series)
            let points = zip(drawn.x, drawn.y).map { "\(n(axes.x.map($0))),\(n(axes.y.map($1)))" }.joined(separator: " ")
            svg.add("<polyline" + SVGDocument.attributes(["class": "series", "data-series": series.name, "points": points,
                                                           "fill": "none", "stroke": color, "stroke-width": "2",
                                                           "stroke-linejoin": "round", "stroke-dasharray": Self.dash(i)]) + "/>")
            if series.y.count <= 40 {
                for (x, y) in zip(series.x, series.y) {
                    svg.add("<circle class=\"marker\" cx=\"\(n(axes.x.map(x)))\" cy=\"\(n(axes.y.map(y)))\" r=\"2.8\" fill=\"\(color)\"/>")
                }
            }
        }
        legend.draw(into: &svg, x: axes.right + 18, top: axes.top, bottom: axes.bottom)
        return (axes.left, axes.right, axes.top, axes.bottom)
    }
}
