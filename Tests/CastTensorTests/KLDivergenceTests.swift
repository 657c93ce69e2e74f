import Foundation
import Testing
@testable import CastTensor

@Suite struct KLDivergenceTests {
    static func reference(_ s: Tensor, _ t: Tensor, _ tau: Double, _ mask: [Bool]?) -> Double {
        let n = s.shape.last!, rows = s.count / n
        var total = 0.0, counted = 0
        for r in 0..<rows where mask?[r] ?? true {
            func logSoftmax(_ x: Tensor) -> [Double] {
                let row = (0..<n).map { Double(x.data[r * n + $0]) / tau }
                let m = row.max()!
                let lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
                return row.map { $0 - lse }
            }
            let logP = logSoftmax(t), logQ = logSoftmax(s)
            total += (0..<n).map { exp(logP[$0]) * (logP[$0] - logQ[$0]) }.reduce(0, +)
            counted += 1
        }
        return tau * tau * total / Double(counted)
    }

    @Test(arguments: [1.0, 2.5] as [Float])
    func forwardMatchesDoubleLoop(temperature: Float) throws {
        let s = Tensor.randomNormal([2, 3, 19], std: 3, seed: 1), t = Tensor.randomNormal([2, 3, 19], std: 3, seed: 2)
        let mask = [true, false, true, true, true, false]
        let loss = try KLDivergence.forward(student: s, teacher: t, temperature: temperature, rowMask: mask)
        #expect(abs(Double(loss) - Self.reference(s, t, Double(temperature), mask)) < 1e-5)
        #expect(try KLDivergence.forward(student: t, teacher: t, temperature: temperature) < 1e-6)
        let unmasked = try KLDivergence.forward(student: s, teacher: t, temperature: temperature)
        #expect(abs(Double(unmasked) - Self.reference(s, t, Double(temperature), nil)) < 1e-5)
    }

    /// Bound: relative error ≤ 5e-3 for both student and teacher gradients (float32 forward,
    /// h = 1e-2, smooth function).
    @Test(arguments: [1.0, 2.0] as [Float])
    func gradientCheck(temperature: Float) throws {
        let mask = [true, true, false, true]
        let inputs = [Tensor.randomNormal([4, 7], std: 2, seed: 3), Tensor.randomNormal([4, 7], std: 2, seed: 4)]
        let result = try GradCheck.check(inputs: inputs, forward: { xs in
            Tensor([try KLDivergence.forward(student: xs[0], teacher: xs[1], temperature: temperature, rowMask: mask)])
        }, backward: { dOut, xs in
            var stats = Tensor(zeros: [])
            _ = try KLDivergence.forward(student: xs[0], teacher: xs[1], temperature: temperature,
                                         rowMask: mask, statistics: &stats)
            var ds: Tensor? = Tensor(zeros: xs[0].shape), dt: Tensor? = Tensor(zeros: xs[1].shape)
            try KLDivergence.backward(dLoss: dOut.item, student: xs[0], teacher: xs[1], temperature: temperature,
                                      rowMask: mask, statistics: stats, dStudent: &ds, dTeacher: &dt)
            return [ds!, dt!]
        })
        #expect(result.maxError < 5e-3, "\(result.worst)")
    }

    @Test func deterministicAndAccumulating() throws {
        let s = Tensor.randomNormal([200, 500], seed: 5), t = Tensor.randomNormal([200, 500], seed: 6)
        var stats = Tensor(zeros: [])
        let loss = try KLDivergence.forward(student: s, teacher: t, temperature: 2, statistics: &stats)
        #expect(try KLDivergence.forward(student: s, teacher: t, temperature: 2) == loss)
        var once: Tensor? = Tensor(zeros: s.shape), twice: Tensor? = Tensor(zeros: s.shape), none: Tensor? = nil
        try KLDivergence.backward(student: s, teacher: t, temperature: 2, statistics: stats, dStudent: &once, dTeacher: &none)
        for _ in 0..<2 {
            try KLDivergence.backward(student: s, teacher: t, temperature: 2, statistics: stats, dStudent: &twice, dTeacher: &none)
        }
        var worst: Float = 0
        for i in 0..<s.count { worst = max(worst, abs(twice!.data[i] - 2 * once!.data[i])) }
        #expect(worst < 1e-9)
    }

    @Test func badInputsThrow() {
        #expect { _ = try KLDivergence.forward(student: Tensor(zeros: [2, 4]), teacher: Tensor(zeros: [2, 5])) }
            throws: { "\($0)".contains("[2, 4]") && "\($0)".contains("[2, 5]") }
        #expect { _ = try KLDivergence.forward(student: Tensor(zeros: [2, 4]), teacher: Tensor(zeros: [2, 4]), rowMask: [true]) }
            throws: { "\($0)".contains("[1]") && "\($0)".contains("[2, 4]") }
        #expect(throws: TensorError.self) {
            _ = try KLDivergence.forward(student: Tensor(zeros: [2, 4]), teacher: Tensor(zeros: [2, 4]), temperature: 0)
        }
    }
}
