import Foundation

/// Bars from zero, one per label, with the running total as a line when asked (explained
/// variance and its cumulative sum share the y axis).
struct SVGBarPlot {
    let chart: BarChart
    let frame: SVGFrame

    func draw(into svg: inout SVGDocument) -> (left: Double, right: Double, top: Double, bottom: Double) {
        let finite = chart.values.filter(\.isFinite)
        let totals = chart.runningTotals
        var lo = min(0, finite.min()!), hi = max(0, finite.max()!)
        if chart.cumulative { lo = min(lo, totals.min()!); hi = max(hi, totals.max()!) }
        let valueName = frame.figure.yLabel.isEmpty ? "value" : frame.figure.yLabel
        let legend = SVGLegend(entries: chart.cumulative
            ? [SVGLegend.Entry(name: valueName, color: Palette.color(0), swatch: .marker(1)),
               SVGLegend.Entry(name: "cumulative", color: Palette.color(1), swatch: .line(dash: nil))]
            : [])
        let axes = SVGAxes(frame: frame, xRange: nil, yRange: lo...hi, logY: false,
                           rightReserve: legend.width + (legend.entries.isEmpty ? 0 : 8))
        axes.draw(into: &svg)
        let n = SVGDocument.number
        let band = (axes.right - axes.left) / Double(chart.values.count)
        let zero = axes.y.map(0)
        func center(_ i: Int) -> Double { axes.left + band * (Double(i) + 0.5) }
        for (i, value) in chart.values.enumerated() where value.isFinite {
            let top = axes.y.map(value)
            svg.rect(center(i) - band * 0.36, min(top, zero), band * 0.72, abs(zero - top), fill: Palette.color(0), className: "bar",
                     extra: ["data-value": String(value)])
        }
        // Every k-th label, so they never overlap.
        let widest = chart.labels.map { SVGDocument.textWidth($0, size: SVGFrame.tickSize) }.max() ?? 0
        let every = max(1, Int(ceil((min(widest, 90) + 8) / band)))
        for (i, label) in chart.labels.enumerated() where i % every == 0 {
            svg.line(center(i), axes.bottom, center(i), axes.bottom + 4, stroke: "#333333", className: "tick-x")
            svg.text(SVGDocument.fitted(label, width: 90, size: SVGFrame.tickSize), x: center(i), y: axes.bottom + 18,
                     size: SVGFrame.tickSize, anchor: .middle, color: "#333333", className: "tick-label")
        }
        if chart.cumulative {
            let points = totals.indices.map { "\(n(center($0))),\(n(axes.y.map(totals[$0])))" }.joined(separator: " ")
            svg.add("<polyline class=\"cumulative\" points=\"\(points)\" fill=\"none\" stroke=\"\(Palette.color(1))\" stroke-width=\"2\"/>")
            if totals.count <= 60 {
                for i in totals.indices {
                    svg.add("<circle class=\"marker\" cx=\"\(n(center(i)))\" cy=\"\(n(axes.y.map(totals[i])))\" r=\"3\" fill=\"\(Palette.color(1))\"/>")
                }
            }
        }
        legend.draw(into: &svg, x: axes.right + 18, top: axes.top, bottom: axes.bottom)
        return (axes.left, axes.right, axes.top, axes.bottom)
    }
}
