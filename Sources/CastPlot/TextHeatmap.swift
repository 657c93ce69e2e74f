/// A heatmap in text: one shaded block per cell (two characters wide when there is room),
/// row labels at the left, the first and last column labels above, and a key saying which
/// values each shade stands for. Matrices wider or taller than the room are shown as
/// averages of neighbouring cells.
struct TextHeatmap {
    static let shades: [Character] = ["·", "░", "▒", "▓", "█"]
    static let maximumRows = 32
    let heatmap: Heatmap
    let width: Int

    func lines() -> [String] {
        let labelWidth = min(12, heatmap.rowLabels.map(\.count).max() ?? 0)
        let room = width - labelWidth - 2
        let cellWidth = heatmap.columnCount * 2 <= room ? 2 : 1
        let shownColumns = min(heatmap.columnCount, room / cellWidth)
        let shownRows = min(heatmap.rowCount, Self.maximumRows)
        let columnGroups = Self.groups(heatmap.columnCount, into: shownColumns)
        let rowGroups = Self.groups(heatmap.rowCount, into: shownRows)
        var out: [String] = []
        let firstLabel = columnGroups.first!.count == 1 ? heatmap.columnLabels.first! : "\(heatmap.columnLabels.first!)…"
        let lastLabel = heatmap.columnLabels.last!
        var header = TextRenderer.padded("", to: labelWidth + 1) + " " + firstLabel
        let span = shownColumns * cellWidth
        if heatmap.columnCount > 1, firstLabel.count + lastLabel.count + 1 <= span {
            header += String(repeating: " ", count: span - firstLabel.count - lastLabel.count) + lastLabel
        }
        out.append(TextRenderer.fitted(header, width: width))
        for rows in rowGroups {
            let label = rows.count == 1 ? heatmap.rowLabels[rows.lowerBound]
                : "\(heatmap.rowLabels[rows.lowerBound])–\(heatmap.rowLabels[rows.upperBound - 1])"
            var line = TextRenderer.padded(label, to: labelWidth, right: true) + " │"
            for columns in columnGroups {
                let cell = rows.flatMap { r in columns.map { heatmap.values[r][$0] } }.filter(\.isFinite)
                let shade: Character = cell.isEmpty ? " " : Self.shade(heatmap.fraction(cell.reduce(0, +) / Double(cell.count)))
                line += String(repeating: String(shade), count: cellWidth)
            }
            out.append(line)
        }
        if shownColumns < heatmap.columnCount || shownRows < heatmap.rowCount {
            out.append(TextRenderer.fitted("(\(heatmap.rowCount)×\(heatmap.columnCount) shown as \(shownRows)×\(shownColumns) block averages)",
                                           width: width))
        }
        out += TextXYPlot.wrapped(keyParts, width: width)
        return out
    }

    /// "· <0.2", "░ 0.2–0.4", …, "█ ≥0.8": the values each shade covers.
    var keyParts: [String] {
        let r = heatmap.scaleRange
        let step = (r.upperBound - r.lowerBound) / Double(Self.shades.count)
        let precision = NiceTicks.niceStep((r.upperBound - r.lowerBound) / 20)
        let edges = (1..<Self.shades.count).map { NumberFormatting.tick(r.lowerBound + step * Double($0), step: precision) }
        var parts = ["\(Self.shades[0]) <\(edges[0])"]
        for i in 1..<(Self.shades.count - 1) { parts.append("\(Self.shades[i]) \(edges[i - 1])–\(edges[i])") }
        parts.append("\(Self.shades.last!) ≥\(edges.last!)")
        return parts
    }

    static func shade(_ fraction: Double) -> Character {
        shades[min(shades.count - 1, Int(fraction * Double(shades.count)))]
    }

    /// 0..<count cut into `parts` consecutive ranges of near-equal size.
    static func groups(_ count: Int, into parts: Int) -> [Range<Int>] {
        let parts = max(1, min(count, parts))
        return (0..<parts).map { (count * $0 / parts)..<(count * ($0 + 1) / parts) }
    }
}
