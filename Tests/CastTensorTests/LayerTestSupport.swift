import Testing
@testable import CastTensor

/// Helpers shared by the layer-op suites.
enum LayerTestSupport {
    /// True when `body` throws and the error text contains every one of `parts`.
    static func throwsNaming(_ parts: [String], _ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch {
            let text = "\(error)"
            return parts.allSatisfy { text.contains($0) }
        }
    }

    /// Row `r` of a `[rows, d]` tensor as its own `[1, d]` tensor.
    static func row(_ t: Tensor, _ r: Int) -> Tensor {
        let d = t.shape.last!
        return try! Tensor(Array(t.scalars[(r * d)..<((r + 1) * d)]), shape: [1, d])
    }

    /// Every element of `twice` equals 2 × `once` up to float rounding.
    static func isDouble(_ twice: Tensor, of once: Tensor) -> Bool {
        guard twice.shape == once.shape else { return false }
        for i in 0..<once.count where abs(twice.data[i] - 2 * once.data[i]) > 1e-5 * max(1, abs(once.data[i])) {
            return false
        }
        return true
    }
}
