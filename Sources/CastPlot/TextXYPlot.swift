import Foundation

/// Lines or points in text: a braille canvas with the y ticks at the left, the x ticks
/// below and a legend. Several series are told apart by a number at each curve's end;
/// categories of a scatter by a marker character per cell (the category most points in
/// that cell belong to).
struct TextXYPlot {
    static let markers: [Character] = ["●", "○", "■", "□", "▲", "△", "◆", "◇", "×", "+"]
    let figure: Figure
    let width: Int
    let height: Int

    func lines() -> [String] {
        let line: LineChart?, scatter: ScatterChart?
        switch figure.chart {
        case .line(let c): line = c; scatter = nil
        case .scatter(let c): line = nil; scatter = c
        default: return []
        }
        let xs = line?.series.flatMap(\.x) ?? scatter!.x
        let ys = line?.series.flatMap(\.y) ?? scatter!.y
        let logY = line?.logY ?? false
        let yRange = CheckedFigure.extent(ys)
        let yTicks = logY ? NiceTicks.logarithmic(covering: yRange) : NiceTicks(covering: yRange, target: max(2, height / 4 + 1))
        let yLabels = yTicks.labels
        let gutter = (yLabels.map(\.count).max() ?? 0) + 1
        let columns = width - gutter - 1
        // Fewer ticks while their labels would crowd each other (two always stay).
        var target = max(3, columns / 8)
        var xTicks = NiceTicks(covering: CheckedFigure.extent(xs), target: target)
        while target > 2, xTicks.values.count * ((xTicks.labels.map(\.count).max() ?? 0) + 2) > columns {
            target -= 1
            xTicks = NiceTicks(covering: CheckedFigure.extent(xs), target: target)
        }
        var canvas = BrailleCanvas(columns: columns, rows: height)
        let x = AxisScale(domain: xTicks.domain, start: 0, end: Double(canvas.dotWidth - 1))
        let y = AxisScale(domain: yTicks.domain, start: Double(canvas.dotHeight - 1), end: 0, logarithmic: logY)
        func dot(_ vx: Double, _ vy: Double) -> (Int, Int) { (Self.index(x.map(vx)), Self.index(y.map(vy))) }

        var legend: [String] = []
        if let line {
            for series in line.series {
                let points = zip(series.x, series.y).map(dot)
                if points.count == 1 { canvas.set(points[0].0, points[0].1) }
                for (a, b) in zip(points, points.dropFirst()) { canvas.line(a.0, a.1, b.0, b.1) }
            }
            if line.series.count > 1 {
                for (i, series) in line.series.enumerated() {
                    let label = Character(String(i + 1 <= 9 ? i + 1 : 0))
                    let end = dot(series.x.last!, series.y.last!)
                    canvas.mark(end.0, end.1, label)
                    legend.append("\(label) \(series.name)")
                }
            } else if let name = line.series.first?.name, !name.isEmpty {
                legend.append("⠤ \(name)")
            }
        } else if let scatter {
            let order = scatter.categoryOrder
            if order.count > 1 {
                let index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
                var counts: [Int: [Int: Int]] = [:]
                for i in scatter.x.indices {
                    let (dx, dy) = dot(scatter.x[i], scatter.y[i])
                    counts[(dy / 4) * columns + dx / 2, default: [:]][index[scatter.categories![i]]!, default: 0] += 1
                }
                for (cell, byCategory) in counts {
                    let top = byCategory.max { $0.value == $1.value ? $0.key > $1.key : $0.value < $1.value }!.key
                    canvas.mark((cell % columns) * 2, (cell / columns) * 4, Self.markers[top % Self.markers.count])
                }
                legend = order.enumerated().map { "\(Self.markers[$0 % Self.markers.count]) \($1)" }
            } else {
                for i in scatter.x.indices { let (dx, dy) = dot(scatter.x[i], scatter.y[i]); canvas.set(dx, dy) }
                if let name = order.first { legend.append("⠿ \(name)") }
            }
        }

        var out: [String] = []
        if !figure.yLabel.isEmpty { out.append(TextRenderer.fitted(figure.yLabel + (logY ? " (log scale)" : ""), width: width)) }
        var labelAtRow: [Int: String] = [:]
        for (value, label) in zip(yTicks.values, yLabels) {
            let row = Self.index(y.map(value)) / 4
            if labelAtRow[row] == nil { labelAtRow[row] = label }
        }
        for row in 0..<canvas.rows {
            let label = labelAtRow[row]
            out.append(TextRenderer.padded(label ?? "", to: gutter - 1, right: true) + (label == nil ? " │" : " ┤") + canvas.line(row))
        }
        out.append(contentsOf: xAxis(ticks: xTicks, scale: x, gutter: gutter, columns: columns))
        if !figure.xLabel.isEmpty { out.append(TextRenderer.centered(figure.xLabel, width: width)) }
        out += Self.wrapped(legend, width: width)
        return out
    }

    /// The axis line with a mark under each tick, and the tick labels centred below the
    /// marks, skipping any that would touch the one before.
    private func xAxis(ticks: NiceTicks, scale: AxisScale, gutter: Int, columns: Int) -> [String] {
        var axis = Array(String(repeating: "─", count: columns))
        var labels = Array(repeating: Character(" "), count: gutter + 1 + columns)
        var free = 0
        for (value, label) in zip(ticks.values, ticks.labels) {
            let column = max(0, min(columns - 1, Self.index(scale.map(value)) / 2))
            axis[column] = "┬"
            let start = max(0, min(labels.count - label.count, gutter + 1 + column - label.count / 2))
            guard start >= free else { continue }
            for (k, c) in label.enumerated() { labels[start + k] = c }
            free = start + label.count + 1
        }
        return [String(repeating: " ", count: gutter) + "└" + String(axis), String(labels)]
    }

    /// A dot position as an Int: rounded, kept within ±2^20 (the canvas ignores dots
    /// outside it), 0 for nan (a range too wide for Double arithmetic).
    static func index(_ position: Double) -> Int {
        guard position.isFinite else { return 0 }
        return Int(max(-1_048_576, min(1_048_576, position.rounded())))
    }

    /// Legend entries joined with two spaces, wrapped to `width`.
    static func wrapped(_ entries: [String], width: Int) -> [String] {
        var lines: [String] = [], current = ""
        for entry in entries.map({ TextRenderer.fitted($0, width: width) }) {
            if current.isEmpty { current = entry } else if current.count + 2 + entry.count <= width { current += "  " + entry } else {
                lines.append(current)
                current = entry
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
