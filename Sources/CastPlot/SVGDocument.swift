import Foundation

/// An SVG document being written: elements in drawing order inside a fixed viewBox. Every
/// piece of text goes through `XMLEscaping`, every number through `SVGDocument.number`.
struct SVGDocument {
    /// Every figure has this size, so notebooks and files show them alike.
    static let width = 720.0
    static let height = 450.0
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    private(set) var elements: [String] = []
    private var definitions: [String] = []

    mutating func add(_ element: String) { elements.append(element) }
    mutating func define(_ element: String) { definitions.append(element) }

    /// `name="value"` pairs, values escaped, nil values left out.
    static func attributes(_ pairs: KeyValuePairs<String, String?>) -> String {
        pairs.compactMap { name, value in value.map { " \(name)=\"\(XMLEscaping.escape($0))\"" } }.joined()
    }

    /// Two decimals at most, no trailing zeros: enough for a 720-wide picture, and short.
    static func number(_ x: Double) -> String {
        var text = String(format: "%.2f", x)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
                       className: String? = nil, dash: String? = nil, data: String? = nil) {
        let n = Self.number
        add("<line" + Self.attributes(["class": className, "data-value": data, "x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2),
                                       "stroke": stroke, "stroke-width": n(width), "stroke-dasharray": dash]) + "/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                       className: String? = nil, extra: KeyValuePairs<String, String?> = [:]) {
        let n = Self.number
        add("<rect" + Self.attributes(["class": className, "x": n(x), "y": n(y), "width": n(max(0, w)), "height": n(max(0, h)),
                                       "fill": fill, "stroke": stroke]) + Self.attributes(extra) + "/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ content: String, x: Double, y: Double, size: Double, anchor: Anchor = .start,
                       color: String = "#222222", bold: Bool = false, rotate: Double? = nil, className: String? = nil) {
        let n = Self.number
        let transform = rotate.map { "rotate(\(n($0)) \(n(x)) \(n(y)))" }
        add("<text" + Self.attributes(["class": className, "x": n(x), "y": n(y), "font-size": n(size), "text-anchor": anchor.rawValue,
                                       "fill": color, "font-weight": bold ? "bold" : nil, "transform": transform])
            + ">\(XMLEscaping.escape(content))</text>")
    }

    /// The whole document.
    func rendered(title: String) -> String {
        let n = Self.number
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(Self.width)) \(n(Self.height))\""
            + " width=\"\(n(Self.width))\" height=\"\(n(Self.height))\"" + Self.attributes(["font-family": Self.fontFamily]) + ">\n"
        if !title.isEmpty { out += "<title>\(XMLEscaping.escape(title))</title>\n" }
        if !definitions.isEmpty { out += "<defs>\n" + definitions.joined(separator: "\n") + "\n</defs>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(n(Self.width))\" height=\"\(n(Self.height))\" fill=\"#ffffff\"/>\n"
        out += elements.joined(separator: "\n")
        return out + "\n</svg>\n"
    }

    /// About how wide `text` is at `size` (DejaVu Sans averages 0.6 em a character).
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.6 }

    /// `text` cut with "…" to fit `width` at `size`.
    static func fitted(_ text: String, width: Double, size: Double) -> String {
        let room = max(1, Int(width / (size * 0.6)))
        return text.count <= room ? text : String(text.prefix(max(1, room - 1))) + "…"
    }
}
