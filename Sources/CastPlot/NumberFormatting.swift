import Foundation

/// Numbers as plots print them: tick labels with as many decimals as the step needs, and
/// compact values (three significant digits) for cells, bars and summaries.
public enum NumberFormatting {
    /// A tick on an axis whose ticks are `step` apart: 0.25 with step 0.05 → "0.25",
    /// 2000 with step 500 → "2000", 1e-6 with step 5e-7 → "1e-06"-free "1.0e-6".
    public static func tick(_ value: Double, step: Double) -> String {
        let magnitude = max(abs(value), step)
        if magnitude >= 1e6 || step < 1e-4 { return scientific(value, significant: significantDigits(value, step: step)) }
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        return trimmedNegativeZero(String(format: "%.\(decimals)f", value))
    }

    /// Three significant digits, plain when that is short, else scientific: 0.0123,
    /// 12.3, 1230, 1.23e6, -4.5e-5.
    public static func compact(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return scientific(value, significant: 3) }
        let decimals = max(0, 2 - Int(floor(log10(magnitude))))
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return trimmedNegativeZero(text)
    }

    /// "1.5e6", "-2e-5": mantissa with trailing zeros cut, exponent without padding.
    static func scientific(_ value: Double, significant: Int) -> String {
        if value == 0 { return "0" }
        let exponent = Int(floor(log10(abs(value))))
        var mantissa = String(format: "%.\(max(0, significant - 1))f", value / pow(10, Double(exponent)))
        var e = exponent
        if mantissa.hasPrefix("10") || mantissa.hasPrefix("-10") {
            // Rounding carried into the next power (9.99 → 10.0).
            e += 1
            mantissa = String(format: "%.\(max(0, significant - 1))f", value / pow(10, Double(e)))
        }
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return "\(mantissa)e\(e)"
    }

    /// Digits a tick needs so neighbours `step` apart differ.
    static func significantDigits(_ value: Double, step: Double) -> Int {
        guard value != 0 else { return 1 }
        return max(1, min(6, Int(floor(log10(abs(value)))) - Int(floor(log10(step))) + 1))
    }

    static func trimmedNegativeZero(_ text: String) -> String {
        guard text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) else { return text }
        return String(text.dropFirst())
    }
}
