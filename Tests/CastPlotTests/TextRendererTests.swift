import Foundation
import Testing
@testable import CastPlot

@Suite("Text renderer")
struct TextRendererTests {
    static let long = String(repeating: "a long label ", count: 12)

    static var figures: [Figure] {
        let steps = (0..<300).map { 2 + sin(Double($0) / 9) - Double($0) / 200 }
        let categories = (0..<400).map { "layer \($0 % 5)" + ($0 % 2 == 0 ? " of smollm2-135m-instruct" : "") }
        let matrix = (0..<30).map { r in (0..<40).map { c in exp(-abs(Double(r - c)) / 6) } }
        return [
            Figure(title: long, xLabel: long, yLabel: long, chart: .line(LineChart(series: [
                LineSeries(name: long, y: steps), LineSeries(name: "kl", y: steps.map { $0 / 2 })]))),
            Figure(title: "log", chart: .line(LineChart(series: [LineSeries(name: "mse", y: steps.map { exp($0 * 3) })], logY: true))),
            Figure(title: long, chart: .scatter(ScatterChart(x: (0..<400).map { sin(Double($0)) * 1e5 },
                                                             y: (0..<400).map { cos(Double($0)) }, categories: categories))),
            Figure(title: "cka", xLabel: long, yLabel: long, chart: .heatmap(Heatmap(values: matrix,
                rowLabels: (0..<30).map { "source layer \($0)" }))),
            Figure(title: "variance", chart: .bar(BarChart(labels: (0..<60).map { "PC\($0 + 1) \(long)" },
                                                           values: (0..<60).map { 1 / Double($0 + 1) }, cumulative: true))),
        ]
    }

    @Test("no line is wider than the width asked for", arguments: [24, 40, 72, 120])
    func widthBound(width: Int) throws {
        for figure in Self.figures {
            let text = try figure.text(width: width)
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                #expect(line.count <= width, "\(figure.summary) at \(width): \(line)")
            }
        }
    }

    @Test("a rising line climbs from the bottom-left to the top-right of the braille area")
    func risingLine() throws {
        let text = try Figure(chart: .line(LineChart(series: [LineSeries(name: "", y: (0...20).map(Double.init))]))).text()
        // The part of each plot row after the axis character (│ or ┤).
        let plot = text.split(separator: "\n").compactMap { row -> [Character]? in
            guard let axis = row.firstIndex(where: { $0 == "│" || $0 == "┤" }) else { return nil }
            return Array(row[row.index(after: axis)...])
        }
        let topStart = plot.first!.firstIndex { $0 != " " }!, bottomStart = plot.last!.firstIndex { $0 != " " }!
        #expect(topStart > bottomStart)
        #expect(text.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) })
    }

    @Test("a heatmap shades low cells light and high cells dark, with a key")
    func heatmapShades() throws {
        let text = try Figure(chart: .heatmap(Heatmap(values: [[0, 1], [1, 0]], rowLabels: ["r0", "r1"], columnLabels: ["c0", "c1"]))).text()
        #expect(text.contains("r0 │··██"))
        #expect(text.contains("r1 │██··"))
        #expect(text.contains("· <0.2") && text.contains("█ ≥0.8"))
    }

    @Test("scatter categories get their own marker and legend entry")
    func scatterMarkers() throws {
        let text = try Figure(chart: .scatter(ScatterChart(x: [0, 10], y: [0, 10], categories: ["a", "b"]))).text()
        #expect(text.contains("● a") && text.contains("○ b"))
        #expect(text.contains("●") && text.filter { $0 == "○" }.count == 2)
    }
}
