import Foundation

/// Axis ticks at round numbers: steps of 1, 2 or 5 times a power of ten, the first at or
/// below the data's minimum and the last at or above its maximum, so the axis covers the
/// data and every label is short.
public struct NiceTicks: Equatable, Sendable {
    public let values: [Double]
    public let step: Double

    /// About `target` ticks over `range` (a flat range is widened around its value).
    public init(covering range: ClosedRange<Double>, target: Int = 6) {
        var lo = range.lowerBound, hi = range.upperBound
        if hi - lo <= abs(hi) * 1e-12 || hi == lo {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        // Divided before subtracting, so ±1e308 does not overflow.
        let intervals = Double(max(1, target - 1))
        let step = Self.niceStep(hi / intervals - lo / intervals)
        let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
        // Counted in whole steps from the first (bounded: a nice step leaves about
        // `target` of them), each tick multiplied out so 0.1 + 0.2 drift never shows.
        let span = last - first
        let count = span.isFinite ? min(1_000, max(1, Int(span))) : 1
        let limit = Double.greatestFiniteMagnitude
        values = (0...count).map { Self.clean(max(-limit, min(limit, (first + Double($0)) * step))) }
        self.step = step
    }

    private init(values: [Double], step: Double) {
        self.values = values
        self.step = step
    }

    /// Ticks for a logarithmic axis: powers of ten covering `range` (all > 0), with 2 and 5
    /// between them when the range spans less than three decades.
    public static func logarithmic(covering range: ClosedRange<Double>) -> NiceTicks {
        let lo = floor(log10(range.lowerBound)), hi = max(ceil(log10(range.upperBound)), lo + 1)
        var values: [Double] = []
        let fine = hi - lo < 3
        for e in Int(lo)...Int(hi) {
            let power = pow(10, Double(e))
            values.append(power)
            if fine, e < Int(hi) { values += [2 * power, 5 * power] }
        }
        if fine {
            // Trim the 2s and 5s outside the data, keeping one tick beyond each end.
            let firstInside = values.lastIndex(where: { $0 <= range.lowerBound }) ?? 0
            let lastInside = values.firstIndex(where: { $0 >= range.upperBound }) ?? values.count - 1
            values = Array(values[firstInside...lastInside])
        }
        return NiceTicks(values: values, step: 0)
    }

    /// 1, 2, 5 or 10 × 10^k: the one nearest `raw` (on a log scale, roughly).
    static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite else { return 1 }
        // Below this, powers of ten underflow to 0 (subnormal data).
        guard raw > 1e-300 else { return 1e-300 }
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    /// Rounds off the last-bit noise of a multiplied tick (0.30000000000000004 → 0.3).
    static func clean(_ x: Double) -> Double {
        guard x != 0 else { return 0 }
        let digits = 12 - Int(floor(log10(abs(x))))
        guard digits > 0, digits < 300 else { return x }
        let scale = pow(10, Double(digits))
        let rounded = (x * scale).rounded() / scale
        return rounded == 0 ? 0 : rounded
    }

    /// The domain the ticks span.
    public var domain: ClosedRange<Double> { values.first!...values.last! }

    /// Each tick as a label, all with the same number of decimals.
    public var labels: [String] {
        step > 0 ? values.map { NumberFormatting.tick($0, step: step) } : values.map(NumberFormatting.compact)
    }
}
