/// One named curve: y against x (training loss per step, say).
public struct LineSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]

    public init(name: String, x: [Double], y: [Double]) {
        self.name = name
        self.x = x
        self.y = y
    }

    /// y against 0, 1, 2, … (steps).
    public init(name: String, y: [Double]) {
        self.init(name: name, x: y.indices.map(Double.init), y: y)
    }
}

/// Several curves on one pair of axes, y linear or logarithmic.
public struct LineChart: Sendable {
    public var series: [LineSeries]
    public var logY: Bool

    public init(series: [LineSeries], logY: Bool = false) {
        self.series = series
        self.logY = logY
    }

    /// The curves without the points a renderer cannot place (non-finite, or ≤ 0 on a log
    /// axis), and notes saying how many went; an error when nothing is left to draw.
    func cleaned() throws -> (LineChart, notes: [String]) {
        guard !series.isEmpty else { throw PlotError("a line plot needs at least one series") }
        var notes: [String] = []
        var kept: [LineSeries] = []
        for s in series {
            guard s.x.count == s.y.count else {
                throw PlotError("series \"\(s.name)\" has \(s.x.count) x values but \(s.y.count) y values")
            }
            guard !s.y.isEmpty else { throw PlotError("series \"\(s.name)\" is empty") }
            var clean = LineSeries(name: s.name, x: [], y: [])
            var nonFinite = 0, nonPositive = 0
            for (x, y) in zip(s.x, s.y) {
                if !x.isFinite || !y.isFinite { nonFinite += 1; continue }
                if logY, y <= 0 { nonPositive += 1; continue }
                clean.x.append(x)
                clean.y.append(y)
            }
            let label = s.name.isEmpty ? "" : " of \"\(s.name)\""
            if nonFinite > 0 { notes.append("dropped \(nonFinite) non-finite point\(nonFinite == 1 ? "" : "s")\(label)") }
            if nonPositive > 0 { notes.append("dropped \(nonPositive) point\(nonPositive == 1 ? "" : "s") ≤ 0\(label) (log scale)") }
            if !clean.y.isEmpty { kept.append(clean) }
        }
        guard !kept.isEmpty else { throw PlotError("no finite points to plot" + (notes.isEmpty ? "" : ": " + notes.joined(separator: "; "))) }
        return (LineChart(series: kept, logY: logY), notes)
    }
}
