/// The parts every SVG figure shares around its plot area: the title on top, the axis
/// labels, the notes on data that could not be drawn at the bottom. Works out the space
/// they leave for the plot.
struct SVGFrame {
    static let titleSize = 16.0
    static let labelSize = 13.0
    static let tickSize = 11.0
    static let noteSize = 11.0
    static let edge = 14.0

    let figure: Figure
    let notes: [String]

    /// Top of the area below the title.
    var top: Double { figure.title.isEmpty ? Self.edge + 6 : 46 }
    /// Bottom of the area above the x label and notes.
    var bottom: Double {
        SVGDocument.height - Self.edge - (figure.xLabel.isEmpty ? 0 : 22) - Double(notes.count) * 15
    }
    /// Left of the area right of the y label.
    var left: Double { Self.edge + (figure.yLabel.isEmpty ? 0 : 22) }

    func draw(into svg: inout SVGDocument, plotLeft: Double, plotRight: Double, plotTop: Double, plotBottom: Double) {
        let width = SVGDocument.width
        if !figure.title.isEmpty {
            svg.text(SVGDocument.fitted(figure.title, width: width - 2 * Self.edge, size: Self.titleSize), x: width / 2, y: 28,
                     size: Self.titleSize, anchor: .middle, bold: true, className: "title")
        }
        if !figure.xLabel.isEmpty {
            svg.text(SVGDocument.fitted(figure.xLabel, width: plotRight - plotLeft, size: Self.labelSize),
                     x: (plotLeft + plotRight) / 2, y: bottom + 18, size: Self.labelSize, anchor: .middle, className: "x-label")
        }
        if !figure.yLabel.isEmpty {
            let x = Self.edge + 12, y = (plotTop + plotBottom) / 2
            svg.text(SVGDocument.fitted(figure.yLabel, width: plotBottom - plotTop, size: Self.labelSize),
                     x: x, y: y, size: Self.labelSize, anchor: .middle, rotate: -90, className: "y-label")
        }
        for (i, note) in notes.enumerated() {
            svg.text("note: " + note, x: Self.edge, y: SVGDocument.height - Self.edge - Double(notes.count - 1 - i) * 15,
                     size: Self.noteSize, color: "#8A4B00", className: "note")
        }
    }
}
