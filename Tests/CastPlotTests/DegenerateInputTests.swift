import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CastPlot

/// Inputs at the edges: one point, flat data, nan and inf, nothing at all, lengths that
/// disagree, markup in labels.
@Suite("Degenerate inputs")
struct DegenerateInputTests {
    static func line(_ y: [Double], title: String = "") -> Figure {
        Figure(title: title, chart: .line(LineChart(series: [LineSeries(name: "loss", y: y)])))
    }

    @Test("one point and all-equal values draw, with ticks around the value")
    func flat() throws {
        for figure in [Self.line([2.5]), Self.line([4, 4, 4, 4]), Figure(chart: .scatter(ScatterChart(x: [1], y: [1]))),
                       Figure(chart: .heatmap(Heatmap(values: [[0.7]]))), Figure(chart: .bar(BarChart(values: [0])))] {
            let svg = try SVGReading(figure.svg())
            // A heatmap's scale is its colour bar.
            let ticks = try (svg.elements("line", className: "tick-y") + svg.elements("line", className: "tick-scale"))
                .compactMap { svg.number($0, "data-value") }
            #expect(ticks.count >= 2)
            #expect(!(try figure.text()).isEmpty)
        }
        let svg = try SVGReading(Self.line([2.5]).svg())
        #expect(try svg.elements("circle", className: "marker").count == 1)
    }

    @Test("nan and inf are dropped with a note in the SVG and the text")
    func nonFinite() throws {
        let figure = Self.line([1, .nan, 2, .infinity, 3])
        let svg = try SVGReading(figure.svg())
        let points = svg.attribute(try svg.elements("polyline", className: "series")[0], "points")!
        #expect(points.split(separator: " ").count == 3)
        #expect(try svg.texts("note") == ["note: dropped 2 non-finite points of \"loss\""])
        #expect(try figure.text().contains("note: dropped 2 non-finite points"))
        let scatter = Figure(chart: .scatter(ScatterChart(x: [1, .nan, 3], y: [1, 2, -.infinity])))
        #expect(try SVGReading(scatter.svg()).texts("note") == ["note: dropped 2 non-finite points"])
        let heat = Figure(chart: .heatmap(Heatmap(values: [[1, .nan], [0, 1]])))
        #expect(try SVGReading(heat.svg()).texts("note") == ["note: 1 non-finite cell left empty"])
        let log = Figure(chart: .line(LineChart(series: [LineSeries(name: "kl", y: [1, 0, -2, 0.5])], logY: true)))
        #expect(try SVGReading(log.svg()).texts("note") == ["note: dropped 2 points ≤ 0 of \"kl\" (log scale)"])
    }

    @Test("nothing to draw, or lengths that disagree, is a clear error")
    func errors() {
        let cases: [(Figure, String)] = [
            (Figure(chart: .line(LineChart(series: []))), "a line plot needs at least one series"),
            (Self.line([]), "series \"loss\" is empty"),
            (Self.line([.nan, .nan]), "no finite points to plot: dropped 2 non-finite points of \"loss\""),
            (Figure(chart: .line(LineChart(series: [LineSeries(name: "a", x: [1, 2], y: [1])]))), "series \"a\" has 2 x values but 1 y values"),
            (Figure(chart: .scatter(ScatterChart(x: [], y: []))), "a scatter plot needs at least one point"),
            (Figure(chart: .scatter(ScatterChart(x: [1], y: [1], categories: ["a", "b"]))), "scatter has 1 points but 2 categories"),
            (Figure(chart: .heatmap(Heatmap(values: []))), "a heatmap needs at least one row and one column"),
            (Figure(chart: .heatmap(Heatmap(values: [[1, 2], [3]]))), "heatmap row 1 has 1 values but row 0 has 2"),
            (Figure(chart: .bar(BarChart(values: []))), "a bar chart needs at least one value"),
            (Figure(chart: .bar(BarChart(labels: ["a"], values: [1, 2]))), "bar chart has 2 values but 1 labels"),
        ]
        for (figure, message) in cases {
            #expect(throws: PlotError(message)) { try figure.svg() }
            #expect(throws: PlotError(message)) { try figure.text() }
        }
    }

    @Test("titles, labels and names with <, & and quotes are escaped and read back intact")
    func escaping() throws {
        let title = "loss <train & \"test\"> 'x'"
        let figure = Figure(title: title, xLabel: "a<b", yLabel: "c&d",
                            chart: .scatter(ScatterChart(x: [1, 2], y: [3, 4], categories: ["<tok>", "\u{1}&"])))
        let text = try figure.svg()
        #expect(!text.contains("<tok>"))
        let svg = try SVGReading(text)
        #expect(try svg.texts("title") == [title])
        #expect(try svg.texts("x-label") == ["a<b"])
        #expect(try svg.texts("y-label") == ["c&d"])
        #expect(try svg.texts("legend-label") == ["<tok>", "\u{FFFD}&"])
        #expect(XMLEscaping.escape("<&\">'") == "&lt;&amp;&quot;&gt;&apos;")
    }

    @Test("every series and category is in the legend, even past the palette")
    func legends() throws {
        let series = (0..<9).map { i in LineSeries(name: "layer \(i)", y: [Double(i), Double(i + 1)]) }
        let svg = try SVGReading(Figure(chart: .line(LineChart(series: series))).svg())
        #expect(try svg.texts("legend-label") == series.map(\.name))
        let dashed = try svg.elements("polyline", className: "series").map { svg.attribute($0, "stroke-dasharray") }
        #expect(dashed[0] == nil && dashed[7] != nil)
        let text = try Figure(chart: .line(LineChart(series: Array(series.prefix(3))))).text()
        #expect(text.contains("1 layer 0") && text.contains("2 layer 1") && text.contains("3 layer 2"))
    }
}

@Suite("Training curves")
struct TrainingCurvesTests {
    @Test("metrics become series against steps 1…n, empty ones left out")
    func curves() throws {
        let figure = TrainingCurves.figure(title: "run", metrics: [("loss", [3, 2, 1]), ("kl", [1, 0.5, 0.2]), ("mse", [])])
        guard case .line(let chart) = figure.chart else { Issue.record("not a line plot"); return }
        #expect(chart.series.map(\.name) == ["loss", "kl"])
        #expect(chart.series[0].x == [1, 2, 3])
        #expect(figure.xLabel == "step")
        #expect(throws: PlotError("a line plot needs at least one series")) {
            try TrainingCurves.figure(title: "", metrics: [("loss", [])]).svg()
        }
    }
}

@Suite("Long curves")
struct LongCurveTests {
    @Test("a 100k-point curve is drawn from chunk extremes: small SVG, same extremes")
    func decimation() throws {
        let y = (0..<100_000).map { sin(Double($0) / 500) * Double($0) }
        let series = LineSeries(name: "loss", y: y)
        let kept = LineDecimation.decimated(series)
        #expect(kept.y.count <= 4_000)
        #expect(kept.y.max() == y.max() && kept.y.min() == y.min())
        #expect(kept.x == kept.x.sorted())
        #expect(LineDecimation.decimated(LineSeries(name: "", y: [1, 2, 3])).y == [1, 2, 3])
        let svg = try Figure(chart: .line(LineChart(series: [series]))).svg()
        #expect(svg.utf8.count < 200_000)
    }
}
