import Foundation

/// Maps data values on one axis to positions: `domain` onto `range` (pixels or dots),
/// linearly or through log10. `invert` undoes `map`, which tests use to read points back.
public struct AxisScale: Sendable {
    public let domain: ClosedRange<Double>
    /// Position of the domain's lower bound, and of its upper bound (may be smaller: SVG y
    /// grows downward).
    public let start: Double
    public let end: Double
    public let logarithmic: Bool

    public init(domain: ClosedRange<Double>, start: Double, end: Double, logarithmic: Bool = false) {
        self.domain = domain
        self.start = start
        self.end = end
        self.logarithmic = logarithmic
    }

    private func transform(_ v: Double) -> Double { logarithmic ? log10(v) : v }
    private func untransform(_ t: Double) -> Double { logarithmic ? pow(10, t) : t }

    public func map(_ value: Double) -> Double {
        let lo = transform(domain.lowerBound), hi = transform(domain.upperBound)
        let t = hi == lo ? 0.5 : (transform(value) - lo) / (hi - lo)
        return start + t * (end - start)
    }

    public func invert(_ position: Double) -> Double {
        let lo = transform(domain.lowerBound), hi = transform(domain.upperBound)
        let t = end == start ? 0 : (position - start) / (end - start)
        return untransform(lo + t * (hi - lo))
    }
}
