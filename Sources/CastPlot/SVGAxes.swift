import Foundation

/// The plot area of an x–y figure and its axes: nice ticks on both, grid lines, tick marks
/// and labels, and the scales that map data to pixels. Each tick line carries its value
/// (`data-value`), so a reader of the SVG can check where points land.
struct SVGAxes {
    let left: Double, right: Double, top: Double, bottom: Double
    let yTicks: NiceTicks
    let xTicks: NiceTicks?
    let x: AxisScale
    let y: AxisScale

    /// - Parameters:
    ///   - xRange: the data's x extent; nil for a categorical x axis (bars), mapped 0…1.
    ///   - rightReserve: room to keep free at the right (the legend, the colour bar).
    init(frame: SVGFrame, xRange: ClosedRange<Double>?, yRange: ClosedRange<Double>, logY: Bool, rightReserve: Double) {
        yTicks = logY ? NiceTicks.logarithmic(covering: yRange) : NiceTicks(covering: yRange, target: 6)
        let yLabelWidth = yTicks.labels.map { SVGDocument.textWidth($0, size: SVGFrame.tickSize) }.max() ?? 0
        left = frame.left + yLabelWidth + 12
        right = SVGDocument.width - SVGFrame.edge - rightReserve - 10
        top = frame.top + 6
        bottom = frame.bottom - 22
        if let xRange {
            // Fewer ticks when their labels would crowd each other.
            var target = 8
            var ticks = NiceTicks(covering: xRange, target: target)
            while target > 2 {
                let widest = ticks.labels.map { SVGDocument.textWidth($0, size: SVGFrame.tickSize) }.max() ?? 0
                if Double(ticks.values.count) * (widest + 14) <= right - left { break }
                target -= 1
                ticks = NiceTicks(covering: xRange, target: target)
            }
            xTicks = ticks
            x = AxisScale(domain: ticks.domain, start: left, end: right)
        } else {
            xTicks = nil
            x = AxisScale(domain: 0...1, start: left, end: right)
        }
        y = AxisScale(domain: yTicks.domain, start: bottom, end: top, logarithmic: logY)
    }

    func draw(into svg: inout SVGDocument) {
        let grid = "#E4E4E4", axis = "#333333"
        svg.add("<g class=\"axes\">")
        for (value, label) in zip(yTicks.values, yTicks.labels) {
            let py = y.map(value)
            svg.line(left, py, right, py, stroke: grid, className: "grid")
            svg.line(left - 5, py, left, py, stroke: axis, className: "tick-y", data: String(value))
            svg.text(label, x: left - 8, y: py + 4, size: SVGFrame.tickSize, anchor: .end, color: "#333333", className: "tick-label")
        }
        if let xTicks {
            for (value, label) in zip(xTicks.values, xTicks.labels) {
                let px = x.map(value)
                svg.line(px, top, px, bottom, stroke: grid, className: "grid")
                svg.line(px, bottom, px, bottom + 5, stroke: axis, className: "tick-x", data: String(value))
                svg.text(label, x: px, y: bottom + 18, size: SVGFrame.tickSize, anchor: .middle, color: "#333333", className: "tick-label")
            }
        }
        svg.line(left, top, left, bottom, stroke: axis, className: "axis")
        svg.line(left, bottom, right, bottom, stroke: axis, className: "axis")
        svg.add("</g>")
    }
}
