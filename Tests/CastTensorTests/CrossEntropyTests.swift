import Foundation
import Testing
@testable import CastTensor

@Suite struct CrossEntropyTests {
    @Test func forwardMatchesDoubleLoopAndSkipsIgnoredRows() throws {
        var logits = Tensor.randomNormal([2, 3, 21], std: 4, seed: 1)
        logits[0, 1, 5] = 200  // overflow without log-sum-exp
        let targets: [Int32] = [3, 5, -100, 20, 0, -100]
        let loss = try CrossEntropy.forward(logits: logits, targets: targets)
        var total = 0.0
        for r in 0..<6 where targets[r] != -100 {
            let row = (0..<21).map { Double(logits.data[r * 21 + $0]) }
            let m = row.max()!
            total += m + log(row.map { exp($0 - m) }.reduce(0, +)) - row[Int(targets[r])]
        }
        #expect(abs(Double(loss) - total / 4) < 1e-5)
        #expect(try CrossEntropy.forward(logits: logits, targets: [Int32](repeating: 7, count: 6), ignoreIndex: 7) == 0)
    }

    /// Bound: relative error ≤ 5e-3 (float32 forward, h = 1e-2, smooth function of the
    /// logits; the loss is a mean so gradients are O(1/rows)).
    @Test func gradientCheck() throws {
        let targets: [Int32] = [1, -1, 8, 0]
        let result = try GradCheck.check(inputs: [Tensor.randomNormal([4, 9], seed: 2)], forward: { xs in
            Tensor([try CrossEntropy.forward(logits: xs[0], targets: targets, ignoreIndex: -1)])
        }, backward: { dOut, xs in
            var lse = Tensor(zeros: [])
            _ = try CrossEntropy.forward(logits: xs[0], targets: targets, ignoreIndex: -1, logSumExp: &lse)
            var d: Tensor? = Tensor(zeros: xs[0].shape)
            try CrossEntropy.backward(dLoss: dOut.item, logits: xs[0], targets: targets, ignoreIndex: -1,
                                      logSumExp: lse, dLogits: &d)
            for j in 0..<9 { #expect(d![1, j] == 0, "ignored row has no gradient") }
            return [d!]
        })
        #expect(result.maxError < 5e-3, "\(result.worst)")
    }

    @Test func deterministicAndAccumulating() throws {
        let logits = Tensor.randomNormal([300, 1000], seed: 3)
        let targets = (0..<300).map { Int32(($0 * 37) % 1000) }
        var lse = Tensor(zeros: [])
        let loss = try CrossEntropy.forward(logits: logits, targets: targets, logSumExp: &lse)
        #expect(try CrossEntropy.forward(logits: logits, targets: targets) == loss)
        var once: Tensor? = Tensor(zeros: logits.shape), twice: Tensor? = Tensor(zeros: logits.shape)
        try CrossEntropy.backward(logits: logits, targets: targets, logSumExp: lse, dLogits: &once)
        try CrossEntropy.backward(logits: logits, targets: targets, logSumExp: lse, dLogits: &twice)
        try CrossEntropy.backward(logits: logits, targets: targets, logSumExp: lse, dLogits: &twice)
        var worst: Float = 0
        for i in 0..<logits.count { worst = max(worst, abs(twice!.data[i] - 2 * once!.data[i])) }
        #expect(worst < 1e-9)
    }

    @Test func badInputsThrow() {
        #expect { _ = try CrossEntropy.forward(logits: Tensor(zeros: [3, 4]), targets: [0, 1]) }
            throws: { "\($0)".contains("[3, 4]") && "\($0)".contains("[2]") }
        #expect { _ = try CrossEntropy.forward(logits: Tensor(zeros: [2, 4]), targets: [0, 4]) }
            throws: { "\($0)".contains("target 4 at row 1") }
        var d: Tensor? = Tensor(zeros: [2, 5])
        #expect {
            try CrossEntropy.backward(logits: Tensor(zeros: [2, 4]), targets: [0, 1], logSumExp: Tensor(zeros: [2]), dLogits: &d)
        } throws: { "\($0)".contains("[2, 5]") && "\($0)".contains("[2, 4]") }
    }
}
