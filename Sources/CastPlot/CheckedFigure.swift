/// A figure whose data was checked and cleaned the way every renderer needs: lengths agree,
/// something is left to draw, and points a renderer cannot place are gone, each kind of
/// loss noted so the picture says so.
struct CheckedFigure {
    let figure: Figure
    let notes: [String]

    init(_ figure: Figure) throws {
        var cleaned = figure
        switch figure.chart {
        case .line(let c):
            let (chart, notes) = try c.cleaned()
            cleaned.chart = .line(chart)
            self.notes = notes
        case .scatter(let c):
            let (chart, notes) = try c.cleaned()
            cleaned.chart = .scatter(chart)
            self.notes = notes
        case .heatmap(let h):
            notes = try h.checked()
        case .bar(let b):
            notes = try b.checked()
        }
        self.figure = cleaned
    }

    /// The x and y extents of the data a line or scatter chart holds.
    var extents: (x: ClosedRange<Double>, y: ClosedRange<Double>)? {
        switch figure.chart {
        case .line(let c):
            return (Self.extent(c.series.flatMap(\.x)), Self.extent(c.series.flatMap(\.y)))
        case .scatter(let c):
            return (Self.extent(c.x), Self.extent(c.y))
        default:
            return nil
        }
    }

    /// min…max of values already known to be finite and non-empty.
    static func extent(_ values: [Double]) -> ClosedRange<Double> {
        values.min()!...values.max()!
    }
}
