/// Points on x–y axes, coloured (and past seven categories, shaped) by category, with a
/// legend naming every category. The axes leave a margin so no point sits on a border.
struct SVGScatterPlot {
    let chart: ScatterChart
    let frame: SVGFrame

    func draw(into svg: inout SVGDocument) -> (left: Double, right: Double, top: Double, bottom: Double) {
        let order = chart.categoryOrder
        let index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        let legend = SVGLegend(entries: order.enumerated().map { i, name in
            SVGLegend.Entry(name: name, color: Palette.color(i), swatch: .marker(Palette.cycle(i)))
        })
        let axes = SVGAxes(frame: frame, xRange: Self.padded(CheckedFigure.extent(chart.x)),
                           yRange: Self.padded(CheckedFigure.extent(chart.y)), logY: false,
                           rightReserve: legend.width + (legend.entries.isEmpty ? 0 : 8))
        axes.draw(into: &svg)
        let radius = chart.x.count > 2000 ? 2.2 : chart.x.count > 300 ? 3 : 4
        let opacity = chart.x.count > 300 ? 0.7 : 0.9
        svg.add("<g class=\"points\">")
        for i in chart.x.indices {
            let category = chart.categories.map { index[$0[i]]! } ?? 0
            SVGMarker.draw(shape: Palette.cycle(category), x: axes.x.map(chart.x[i]), y: axes.y.map(chart.y[i]), radius: radius,
                           color: Palette.color(category), into: &svg, className: "point", opacity: opacity)
        }
        svg.add("</g>")
        legend.draw(into: &svg, x: axes.right + 18, top: axes.top, bottom: axes.bottom)
        return (axes.left, axes.right, axes.top, axes.bottom)
    }

    /// The range widened by 3% each side (a flat range stays flat: the ticks widen it).
    static func padded(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
        let pad = (r.upperBound - r.lowerBound) * 0.03
        return (r.lowerBound - pad)...(r.upperBound + pad)
    }
}
