/// Largest relative error of analytic against numeric gradients, with where it happened.
public struct GradientErrors: CustomStringConvertible {
    public init() {}
    public var maxError = 0.0
    public var worst = "none"
    public var checked = 0
    /// Largest |numeric| seen: shows the check was not vacuous.
    public var largestNumeric = 0.0
    /// For input checks: |loss of the test-only forward path − loss of the model's own|.
    public var pathMismatch = 0.0

    public mutating func record(_ what: @autoclosure () -> String, analytic: Float, numeric: Double) {
        checked += 1
        largestNumeric = max(largestNumeric, abs(numeric))
        let error = abs(Double(analytic) - numeric) / max(1, abs(numeric))
        if error > maxError {
            maxError = error
            worst = "\(what()): analytic \(analytic), numeric \(numeric)"
        }
    }

    public mutating func merge(_ other: GradientErrors) {
        checked += other.checked
        largestNumeric = max(largestNumeric, other.largestNumeric)
        if other.maxError > maxError { maxError = other.maxError; worst = other.worst }
    }

    public var description: String {
        "max error \(maxError) over \(checked) elements (largest |gradient| \(largestNumeric)); worst \(worst)"
    }
}