import Foundation
import Testing
@testable import CastTensor

@Suite struct SoftmaxTests {
    /// The vectorised exp matches libm within 3e-7 relative over the whole float range it
    /// serves, and sends −∞ (a mask) to exactly 0.
    @Test func vectorExpMatchesLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let inputs = VectorMath.Lanes(repeating: x) + VectorMath.Lanes(0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07)
            let lanes = VectorMath.exp(inputs)
            for i in 0..<8 {
                let exact = Foundation.exp(Double(inputs[i]))
                worst = max(worst, abs(Double(lanes[i]) - exact) / exact)
            }
            x += 0.173
        }
        #expect(worst < 3e-7, "worst relative error \(worst)")
        let masked = VectorMath.exp(VectorMath.Lanes(repeating: -.infinity))
        #expect(masked == VectorMath.Lanes(repeating: 0))
    }

    /// Rows of 13 (vector body + tail) with large logits, against a double loop.
    @Test func softmaxAndLogSoftmaxMatchDoubleLoop() throws {
        var x = Tensor.randomNormal([2, 3, 13], std: 5, seed: 1)
        x[0, 0, 3] = 300  // would overflow exp without the max shift
        let y = try Softmax.forward(x), logY = try LogSoftmax.forward(x)
        var ref = [Double](), logRef = [Double]()
        for r in 0..<6 {
            let row = (0..<13).map { Double(x.data[r * 13 + $0]) }
            let m = row.max()!
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            ref += row.map { Foundation.exp($0 - lse) }
            logRef += row.map { $0 - lse }
        }
        #expect(y.shape == x.shape && logY.shape == x.shape)
        #expect(Reference.maxAbsDiff(y, ref) < 1e-6)
        #expect(Reference.maxAbsDiff(logY, logRef) < 1e-4)  // |log p| up to ~300
    }

    /// Bound: relative error ≤ 5e-3 (float32 forward, h = 1e-2, smooth function).
    @Test func softmaxGradientCheck() throws {
        try checkGradientFromOutput(seed: 2, forward: Softmax.forward, backward: Softmax.backward)
    }

    /// Bound: relative error ≤ 5e-3 (float32 forward, h = 1e-2, smooth function).
    @Test func logSoftmaxGradientCheck() throws {
        try checkGradientFromOutput(seed: 3, forward: LogSoftmax.forward, backward: LogSoftmax.backward)
    }

    /// Finite-difference check on a [3, 11] input of an op whose backward works from its
    /// forward output `y`.
    private func checkGradientFromOutput(seed: UInt64, forward: (Tensor) throws -> Tensor,
                                         backward: (Tensor, Tensor, inout Tensor?) throws -> Void) throws {
        let result = try GradCheck.check(inputs: [Tensor.randomNormal([3, 11], seed: seed)], forward: { xs in
            try forward(xs[0])
        }, backward: { dy, xs in
            let y = try forward(xs[0])
            var dx: Tensor? = Tensor(zeros: xs[0].shape)
            try backward(dy, y, &dx)
            return [dx!]
        })
        #expect(result.maxError < 5e-3, "\(result.worst)")
    }

    @Test func backwardAccumulatesAndRepeatsExactly() throws {
        let x = Tensor.randomNormal([64, 37], seed: 4), dy = Tensor.randomNormal([64, 37], seed: 5)
        let y = try Softmax.forward(x)
        #expect(try Softmax.forward(x) == y)
        var once: Tensor? = Tensor(zeros: x.shape), twice: Tensor? = Tensor(zeros: x.shape)
        try Softmax.backward(dy: dy, y: y, dx: &once)
        try Softmax.backward(dy: dy, y: y, dx: &twice)
        try Softmax.backward(dy: dy, y: y, dx: &twice)
        for i in 0..<x.count { #expect(abs(twice!.data[i] - 2 * once!.data[i]) <= 1e-6) }
    }

    @Test func mismatchedShapesThrowNamingBoth() {
        var dx: Tensor? = Tensor(zeros: [2, 5])
        #expect {
            try Softmax.backward(dy: Tensor(zeros: [2, 4]), y: Tensor(zeros: [2, 5]), dx: &dx)
        } throws: { "\($0)".contains("[2, 4]") && "\($0)".contains("[2, 5]") }
        #expect {
            try LogSoftmax.backward(dy: Tensor(zeros: [3, 5]), y: Tensor(zeros: [2, 5]), dx: &dx)
        } throws: { "\($0)".contains("[3, 5]") && "\($0)".contains("[2, 5]") }
    }
}
