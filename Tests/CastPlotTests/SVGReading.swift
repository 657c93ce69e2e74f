import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CastPlot

/// An SVG document parsed back, with the questions tests ask of it: elements by name and
/// class, and the data → pixel mapping the drawn ticks state.
struct SVGReading {
    let document: XMLDocument

    init(_ svg: String) throws {
        document = try XMLDocument(xmlString: svg, options: [])
    }

    /// Elements named `name` (any namespace), optionally of class `className`.
    func elements(_ name: String, className: String? = nil) throws -> [XMLElement] {
        let classTest = className.map { " and @class='\($0)'" } ?? ""
        return try document.nodes(forXPath: "//*[local-name()='\(name)'\(classTest)]").compactMap { $0 as? XMLElement }
    }

    /// The attribute's value. (Searched by hand: on Linux `attribute(forName:)` finds
    /// nothing in a document with a default namespace.)
    func attribute(_ element: XMLElement, _ name: String) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    func number(_ element: XMLElement, _ attribute: String) -> Double? {
        self.attribute(element, attribute).flatMap(Double.init)
    }

    /// A straight-line fit pixel → value from two tick lines of `className` ("tick-x"
    /// reads x1, "tick-y" reads y1), so points can be read back as data.
    func inverse(_ className: String) throws -> (Double) -> Double {
        let ticks = try elements("line", className: className)
        let coordinate = className == "tick-x" ? "x1" : "y1"
        let pairs = ticks.compactMap { t -> (Double, Double)? in
            guard let p = number(t, coordinate), let v = number(t, "data-value") else { return nil }
            return (p, v)
        }
        guard let first = pairs.first, let last = pairs.last, first.0 != last.0 else {
            Issue.record("fewer than two \(className) ticks")
            return { $0 }
        }
        return { p in first.1 + (p - first.0) * (last.1 - first.1) / (last.0 - first.0) }
    }

    /// The texts of the elements of class `className`.
    func texts(_ className: String) throws -> [String] {
        try elements("text", className: className).map { $0.stringValue ?? "" }
    }
}
