/// The legend to the right of the plot: one row per series or category, its swatch (a
/// line with the series' dash, or the category's marker) and its name.
struct SVGLegend {
    enum Swatch { case line(dash: String?), marker(Int) }

    struct Entry {
        let name: String
        let color: String
        let swatch: Swatch
    }

    static let rowHeight = 18.0
    static let size = 12.0
    static let maximumWidth = 190.0

    let entries: [Entry]

    /// The room the legend takes at the right edge (0 without entries).
    var width: Double {
        guard !entries.isEmpty else { return 0 }
        let widest = entries.map { SVGDocument.textWidth($0.name, size: Self.size) }.max() ?? 0
        return min(Self.maximumWidth, widest + 34)
    }

    func draw(into svg: inout SVGDocument, x: Double, top: Double, bottom: Double) {
        guard !entries.isEmpty else { return }
        let fitting = max(1, Int((bottom - top) / Self.rowHeight))
        let shown = entries.count <= fitting ? entries : Array(entries.prefix(fitting - 1))
        svg.add("<g class=\"legend\">")
        for (i, entry) in shown.enumerated() {
            let y = top + Double(i) * Self.rowHeight + 10
            svg.add("<g class=\"legend-entry\">")
            switch entry.swatch {
            case .line(let dash):
                svg.line(x, y - 4, x + 20, y - 4, stroke: entry.color, width: 2.5, dash: dash)
            case .marker(let shape):
                SVGMarker.draw(shape: shape, x: x + 10, y: y - 4, radius: 4.5, color: entry.color, into: &svg, className: nil)
            }
            svg.text(SVGDocument.fitted(entry.name, width: Self.maximumWidth - 30, size: Self.size), x: x + 26, y: y,
                     size: Self.size, className: "legend-label")
            svg.add("</g>")
        }
        if shown.count < entries.count {
            svg.text("… \(entries.count - shown.count) more", x: x + 26, y: top + Double(shown.count) * Self.rowHeight + 10,
                     size: Self.size, color: "#555555")
        }
        svg.add("</g>")
    }
}

/// Point markers: a circle, then a square, triangle and diamond for categories that reuse
/// a colour once the palette runs out.
enum SVGMarker {
    static func draw(shape: Int, x: Double, y: Double, radius r: Double, color: String, into svg: inout SVGDocument,
                     className: String?, opacity: Double = 1) {
        let n = SVGDocument.number
        let common = SVGDocument.attributes(["class": className, "fill": color, "fill-opacity": opacity < 1 ? n(opacity) : nil,
                                             "stroke": "#ffffff", "stroke-width": "0.6"])
        switch shape % 4 {
        case 0:
            svg.add("<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\"\(common)/>")
        case 1:
            let s = r * 0.9
            svg.add("<rect x=\"\(n(x - s))\" y=\"\(n(y - s))\" width=\"\(n(2 * s))\" height=\"\(n(2 * s))\" data-cx=\"\(n(x))\" data-cy=\"\(n(y))\"\(common)/>")
        case 2:
            let h = r * 1.15
            svg.add("<polygon points=\"\(n(x)),\(n(y - h)) \(n(x + h)),\(n(y + h * 0.8)) \(n(x - h)),\(n(y + h * 0.8))\" data-cx=\"\(n(x))\" data-cy=\"\(n(y))\"\(common)/>")
        default:
            let h = r * 1.2
            svg.add("<polygon points=\"\(n(x)),\(n(y - h)) \(n(x + h)),\(n(y)) \(n(x)),\(n(y + h)) \(n(x - h)),\(n(y))\" data-cx=\"\(n(x))\" data-cy=\"\(n(y))\"\(common)/>")
        }
    }
}
