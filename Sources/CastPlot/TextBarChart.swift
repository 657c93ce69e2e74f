/// Bars in text, one line each: the label, a bar of full and eighth blocks scaled to the
/// largest value, the value, and the running total when the chart has one.
struct TextBarChart {
    static let eighths: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    static let maximumBars = 40
    let chart: BarChart
    let width: Int

    func lines() -> [String] {
        let shown = min(chart.values.count, Self.maximumBars)
        let totals = chart.runningTotals
        let labelWidth = min(12, width / 4, chart.labels.prefix(shown).map(\.count).max() ?? 0)
        func suffix(_ i: Int) -> String {
            let value = NumberFormatting.compact(chart.values[i])
            return chart.cumulative ? " \(value) (Σ \(NumberFormatting.compact(totals[i])))" : " \(value)"
        }
        let suffixWidth = (0..<shown).map { suffix($0).count }.max() ?? 0
        let room = max(4, width - labelWidth - 2 - suffixWidth)
        let largest = chart.values.prefix(shown).filter(\.isFinite).map(abs).max() ?? 0
        var out: [String] = []
        for i in 0..<shown {
            let value = chart.values[i]
            var bar = ""
            if value.isFinite, largest > 0 {
                let eighthsLong = Int((abs(value) / largest * Double(room) * 8).rounded())
                // Negative bars in a lighter shade: they grow from zero all the same.
                bar = String(repeating: value < 0 ? "░" : "█", count: eighthsLong / 8)
                if value >= 0, eighthsLong % 8 > 0 { bar.append(Self.eighths[eighthsLong % 8 - 1]) }
            }
            out.append(TextRenderer.padded(chart.labels[i], to: labelWidth, right: true) + " │" + bar + suffix(i))
        }
        if shown < chart.values.count { out.append("… \(chart.values.count - shown) more bars (the SVG shows all)") }
        return out
    }
}
