import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CastPlot

/// Points land where the axes say: read the SVG back, map pixels through the drawn ticks,
/// and compare with the data.
@Suite("SVG geometry")
struct SVGGeometryTests {
    @Test("every line point maps back to its data through the drawn ticks")
    func linePoints() throws {
        let loss = (0..<50).map { 3 * exp(-Double($0) / 15) + 0.2 }
        let kl = (0..<50).map { 1.5 * exp(-Double($0) / 10) }
        let figure = Figure(title: "training", xLabel: "step", yLabel: "loss",
                            chart: .line(LineChart(series: [LineSeries(name: "loss", y: loss), LineSeries(name: "kl", y: kl)])))
        let svg = try SVGReading(figure.svg())
        let toX = try svg.inverse("tick-x"), toY = try svg.inverse("tick-y")
        let polylines = try svg.elements("polyline", className: "series")
        #expect(polylines.count == 2)
        for (polyline, expected) in zip(polylines, [loss, kl]) {
            let points = (svg.attribute(polyline, "points") ?? "").split(separator: " ").map {
                $0.split(separator: ",").map { Double($0)! }
            }
            #expect(points.count == expected.count)
            for (i, p) in points.enumerated() {
                #expect(abs(toX(p[0]) - Double(i)) < 0.05)
                #expect(abs(toY(p[1]) - expected[i]) < 0.01)
            }
        }
    }

    @Test("scatter circles map back to their points, each category its own colour")
    func scatterPoints() throws {
        let xs = [-2.5, -1, 0, 0.5, 3.25, 10], ys = [100.0, -40, 7, 0, 55, -12]
        let categories = ["smollm2", "qwen", "smollm2", "gemma", "qwen", "gemma"]
        let figure = Figure(title: "PCA", xLabel: "PC1", yLabel: "PC2", chart: .scatter(ScatterChart(x: xs, y: ys, categories: categories)))
        let svg = try SVGReading(figure.svg())
        let toX = try svg.inverse("tick-x"), toY = try svg.inverse("tick-y")
        let circles = try svg.elements("circle", className: "point")
        #expect(circles.count == xs.count)
        var colorOf: [String: String] = [:]
        for (i, circle) in circles.enumerated() {
            #expect(abs(toX(svg.number(circle, "cx")!) - xs[i]) < 0.02)
            #expect(abs(toY(svg.number(circle, "cy")!) - ys[i]) < 0.2)
            let color = svg.attribute(circle, "fill")!
            if let known = colorOf[categories[i]] { #expect(known == color) } else { colorOf[categories[i]] = color }
        }
        #expect(Set(colorOf.values).count == 3)
        #expect(try svg.texts("legend-label") == ["smollm2", "qwen", "gemma"])
    }

    @Test("points stay inside the plot area, inside the viewBox")
    func pointsInside() throws {
        let xs = (0..<200).map { sin(Double($0)) * 1e4 }, ys = (0..<200).map { cos(Double($0) * 0.7) * 3e-3 }
        let svg = try SVGReading(Figure(chart: .scatter(ScatterChart(x: xs, y: ys))).svg())
        let axes = try svg.elements("line", className: "axis")
        let left = axes.compactMap { svg.number($0, "x1") }.min()!, right = axes.compactMap { svg.number($0, "x2") }.max()!
        let top = axes.compactMap { svg.number($0, "y1") }.min()!, bottom = axes.compactMap { svg.number($0, "y2") }.max()!
        for c in try svg.elements("circle", className: "point") {
            let x = svg.number(c, "cx")!, y = svg.number(c, "cy")!
            #expect(x > left && x < right && y > top && y < bottom)
        }
        #expect(right <= 720 && bottom <= 450)
    }

    @Test("a log-y line maps back through log10")
    func logY() throws {
        let y = [1000.0, 120, 30, 4, 0.9, 0.05]
        let figure = Figure(chart: .line(LineChart(series: [LineSeries(name: "mse", y: y)], logY: true)))
        let svg = try SVGReading(figure.svg())
        let ticks = try svg.elements("line", className: "tick-y")
        let values = ticks.compactMap { svg.number($0, "data-value") }
        #expect(values.first! <= 0.05 && values.last! >= 1000)
        let logTick = { (t: XMLElement) in (svg.number(t, "y1")!, log10(svg.number(t, "data-value")!)) }
        let (p0, v0) = logTick(ticks.first!), (p1, v1) = logTick(ticks.last!)
        let points = svg.attribute(try svg.elements("polyline", className: "series")[0], "points")!
            .split(separator: " ").map { Double($0.split(separator: ",")[1])! }
        for (p, expected) in zip(points, y) {
            let exponent: Double = v0 + (p - p0) * (v1 - v0) / (p1 - p0)
            let ratio: Double = pow(10, exponent) / expected
            #expect(abs(ratio - 1) < 0.02)
        }
    }

    @Test("bar heights and the cumulative line map back to the values")
    func bars() throws {
        let values = [0.42, 0.21, 0.12, 0.08, 0.05]
        let figure = Figure(title: "explained variance", xLabel: "component", yLabel: "fraction",
                            chart: .bar(BarChart(values: values, cumulative: true)))
        let svg = try SVGReading(figure.svg())
        let toY = try svg.inverse("tick-y")
        let bars = try svg.elements("rect", className: "bar")
        #expect(bars.count == values.count)
        for (bar, value) in zip(bars, values) {
            let top = svg.number(bar, "y")!, bottom = top + svg.number(bar, "height")!
            #expect(abs(toY(bottom)) < 0.002)
            #expect(abs(toY(top) - value) < 0.002)
        }
        let cumulative = svg.attribute(try svg.elements("polyline", className: "cumulative")[0], "points")!
            .split(separator: " ").map { toY(Double($0.split(separator: ",")[1])!) }
        var total = 0.0
        for (got, value) in zip(cumulative, values) { total += value; #expect(abs(got - total) < 0.002) }
        #expect(try svg.texts("legend-label") == ["fraction", "cumulative"])
    }

    @Test("a heatmap has one cell per value, coloured along the scale, with labels and a colour bar")
    func heatmap() throws {
        let values = [[1, 0.8, 0.3], [0.8, 1, 0.5], [0.3, 0.5, 1]]
        let figure = Figure(title: "CKA", chart: .heatmap(Heatmap(values: values, rowLabels: ["a", "b", "c"],
                                                                    columnLabels: ["x", "y", "z"])))
        let svg = try SVGReading(figure.svg())
        let cells = try svg.elements("rect", className: "cell")
        #expect(cells.count == 9)
        let lowest = svg.attribute(cells.first { svg.number($0, "data-value") == 0.3 }!, "fill")
        let highest = svg.attribute(cells.first { svg.number($0, "data-value") == 1 }!, "fill")
        #expect(lowest == ColorScale.color(0) && highest == ColorScale.color(1))
        #expect(try svg.texts("row-label") == ["a", "b", "c"])
        #expect(try svg.texts("column-label") == ["x", "y", "z"])
        #expect(try svg.texts("cell-value").count == 9)
        #expect(try svg.elements("line", className: "tick-scale").count >= 2)
        // Cells are square and do not overlap.
        let widths = Set(cells.map { svg.number($0, "width")! }), heights = Set(cells.map { svg.number($0, "height")! })
        #expect(widths == heights && widths.count == 1)
    }
}
