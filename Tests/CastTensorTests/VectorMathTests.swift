import Foundation
import Testing
@testable import CastTensor

@Suite struct VectorMathTests {
    /// Relative error ≤ 3e-7 (about 2.5 float ulps) over the whole unclamped range,
    /// and clamping, not inf/0, outside it.
    @Test func expMatchesDoubleAcrossItsRange() {
        var worst = 0.0
        var x: Float = -87
        while x <= 88 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(VectorMath.exp(x)) - exact) / exact)
            x += 0.0137
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        #expect(VectorMath.exp(1000).isFinite && VectorMath.exp(-1000) > 0)
        #expect(VectorMath.exp(0) == 1)
    }

    /// Lengths around the 8-lane width exercise both the SIMD body and the scalar tail.
    @Test func reductionsMatchDouble() {
        for n in [0, 1, 7, 8, 9, 33] {
            let a = Tensor.randomNormal([n], seed: UInt64(n) + 1), b = Tensor.randomNormal([n], seed: UInt64(n) + 100)
            let c = Tensor.randomNormal([n], seed: UInt64(n) + 200)
            let (ap, bp, cp) = (a.data, b.data, c.data)
            var sum = 0.0, squares = 0.0, dot = 0.0, dot3 = 0.0
            for i in 0..<n {
                sum += Double(ap[i])
                squares += (Double(ap[i]) - 0.5) * (Double(ap[i]) - 0.5)
                dot += Double(ap[i]) * Double(bp[i])
                dot3 += Double(ap[i]) * Double(bp[i]) * (Double(cp[i]) - 0.25)
            }
            #expect(abs(Double(VectorMath.sum(ap, n)) - sum) < 1e-5)
            #expect(abs(Double(VectorMath.sumOfSquares(ap, n, center: 0.5)) - squares) < 1e-5)
            #expect(abs(Double(VectorMath.dot(ap, bp, n)) - dot) < 1e-5)
            #expect(abs(Double(VectorMath.dot3(ap, bp, cp, n, center: 0.25)) - dot3) < 1e-5)
        }
    }
}
