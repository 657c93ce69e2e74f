import Foundation

/// A matrix as square coloured cells (row 0 at the top), row labels at the left, column
/// labels below (slanted when they are long), a colour bar with ticks at the right, and the
/// values printed in the cells when they fit.
struct SVGHeatmap {
    static let colorBarWidth = 14.0
    static let colorBarReserve = 80.0
    let heatmap: Heatmap
    let frame: SVGFrame

    func draw(into svg: inout SVGDocument) -> (left: Double, right: Double, top: Double, bottom: Double) {
        let rows = heatmap.rowCount, columns = heatmap.columnCount
        let size = SVGFrame.tickSize
        let rowLabelWidth = min(140, heatmap.rowLabels.map { SVGDocument.textWidth($0, size: size) }.max() ?? 0)
        let columnLabelWidth = min(110, heatmap.columnLabels.map { SVGDocument.textWidth($0, size: size) }.max() ?? 0)
        let left = frame.left + rowLabelWidth + 10
        let top = frame.top + 4
        let availableWidth = SVGDocument.width - SVGFrame.edge - Self.colorBarReserve - left
        // Column labels lie flat when they fit under their cell, else slant at 45°.
        let flatCell = availableWidth / Double(columns)
        let slanted = columnLabelWidth + 4 > flatCell
        let labelDepth = slanted ? columnLabelWidth * 0.72 + 14 : 20
        let availableHeight = frame.bottom - labelDepth - top
        let cell = max(1, min(availableWidth / Double(columns), availableHeight / Double(rows)))
        let right = left + cell * Double(columns), bottom = top + cell * Double(rows)

        let valueSize = min(11, cell * 0.36)
        let showValues = heatmap.showValues ?? (valueSize >= 7 && heatmap.values.joined().allSatisfy {
            SVGDocument.textWidth(cellText($0), size: valueSize) <= cell - 3
        })
        svg.add("<g class=\"cells\">")
        for r in 0..<rows {
            for c in 0..<columns {
                let value = heatmap.values[r][c]
                let x = left + cell * Double(c), y = top + cell * Double(r)
                let fill = value.isFinite ? ColorScale.color(heatmap.fraction(value)) : "#F2F2F2"
                svg.rect(x, y, cell, cell, fill: fill, stroke: cell >= 8 ? "#ffffff" : nil, className: "cell",
                         extra: ["data-row": String(r), "data-column": String(c), "data-value": String(value),
                                 "stroke-width": cell >= 8 ? "0.5" : nil])
                if showValues, value.isFinite {
                    let dark = ColorScale.wantsDarkText(heatmap.fraction(value))
                    svg.text(cellText(value), x: x + cell / 2, y: y + cell / 2 + valueSize * 0.36, size: valueSize,
                             anchor: .middle, color: dark ? "#111111" : "#ffffff", className: "cell-value")
                }
            }
        }
        svg.add("</g>")
        drawLabels(into: &svg, left: left, top: top, bottom: bottom, cell: cell, slanted: slanted, rowLabelWidth: rowLabelWidth)
        drawColorBar(into: &svg, x: right + 18, top: top, bottom: bottom)
        return (left, right, top, bottom)
    }

    /// A cell's value with the decimals a fiftieth of the scale needs (CKA: "0.87").
    func cellText(_ value: Double) -> String {
        let r = heatmap.scaleRange
        return NumberFormatting.tick(value, step: NiceTicks.niceStep((r.upperBound - r.lowerBound) / 50))
    }

    private func drawLabels(into svg: inout SVGDocument, left: Double, top: Double, bottom: Double, cell: Double, slanted: Bool,
                            rowLabelWidth: Double) {
        let size = SVGFrame.tickSize
        // Every k-th label when cells are smaller than the text.
        let rowEvery = max(1, Int(ceil((size + 2) / cell)))
        for (r, label) in heatmap.rowLabels.enumerated() where r % rowEvery == 0 {
            svg.text(SVGDocument.fitted(label, width: rowLabelWidth + 1, size: size), x: left - 6, y: top + cell * (Double(r) + 0.5) + 4,
                     size: size, anchor: .end, color: "#333333", className: "row-label")
        }
        let columnEvery = slanted ? max(1, Int(ceil((size + 2) / cell))) : 1
        for (c, label) in heatmap.columnLabels.enumerated() where c % columnEvery == 0 {
            let x = left + cell * (Double(c) + 0.5)
            let text = SVGDocument.fitted(label, width: 111, size: size)
            if slanted {
                svg.text(text, x: x + 3, y: bottom + 10, size: size, anchor: .end, color: "#333333", rotate: -45, className: "column-label")
            } else {
                svg.text(text, x: x, y: bottom + 15, size: size, anchor: .middle, color: "#333333", className: "column-label")
            }
        }
    }

    /// A vertical gradient from the scale's low (bottom) to high (top) colour, with ticks.
    private func drawColorBar(into svg: inout SVGDocument, x: Double, top: Double, bottom: Double) {
        let bottom = max(bottom, top + 60)
        let stops = (0...10).map { i -> String in
            let t = Double(i) / 10
            return "<stop offset=\"\(SVGDocument.number(t))\" stop-color=\"\(ColorScale.color(t))\"/>"
        }
        svg.define("<linearGradient id=\"color-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">" + stops.joined() + "</linearGradient>")
        svg.add("<g class=\"color-bar\">")
        svg.rect(x, top, Self.colorBarWidth, bottom - top, fill: "url(#color-scale)", stroke: "#999999")
        let range = heatmap.scaleRange
        let scale = AxisScale(domain: range, start: bottom, end: top)
        let ticks = NiceTicks(covering: range, target: 5)
        let tolerance = (range.upperBound - range.lowerBound) * 1e-9
        for (value, label) in zip(ticks.values, ticks.labels)
        where value >= range.lowerBound - tolerance && value <= range.upperBound + tolerance {
            let y = scale.map(value)
            svg.line(x + Self.colorBarWidth, y, x + Self.colorBarWidth + 4, y, stroke: "#333333", className: "tick-scale",
                     data: String(value))
            svg.text(label, x: x + Self.colorBarWidth + 7, y: y + 4, size: SVGFrame.tickSize, color: "#333333", className: "tick-label")
        }
        svg.add("</g>")
    }
}
