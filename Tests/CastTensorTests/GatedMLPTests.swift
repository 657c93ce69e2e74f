import Foundation
import Testing
@testable import CastTensor

@Suite struct GatedMLPTests {
    let x = Tensor.randomNormal([2, 3, 6], seed: 61)
    let wGate = Tensor.randomNormal([10, 6], std: 0.5, seed: 62)
    let wUp = Tensor.randomNormal([10, 6], std: 0.5, seed: 63)
    let wDown = Tensor.randomNormal([5, 10], std: 0.5, seed: 64)

    @Test(arguments: Activation.allCases) func forwardMatchesDoubleLoop(_ activation: Activation) throws {
        var saved = GatedMLP.Saved(), y = Tensor(zeros: [])
        try GatedMLP.forward(x, gateWeight: wGate, upWeight: wUp, downWeight: wDown, activation: activation,
                             saved: &saved, into: &y)
        #expect(y.shape == [2, 3, 5] && saved.hidden.shape == [2, 3, 10])
        let act = ActivationTests.reference(activation)
        var ref = [Double](), refHidden = [Double]()
        for r in 0..<6 {
            var hidden = [Double](repeating: 0, count: 10)
            for h in 0..<10 {
                var g = 0.0, u = 0.0
                for i in 0..<6 {
                    g += Double(x.data[r * 6 + i]) * Double(wGate.data[h * 6 + i])
                    u += Double(x.data[r * 6 + i]) * Double(wUp.data[h * 6 + i])
                }
                hidden[h] = act(g) * u
            }
            refHidden += hidden
            for o in 0..<5 { ref.append((0..<10).reduce(0.0) { $0 + hidden[$1] * Double(wDown.data[o * 10 + $1]) }) }
        }
        #expect(Reference.maxAbsDiff(y, ref) < 1e-5)
        #expect(Reference.maxAbsDiff(saved.hidden, refHidden) < 1e-5)
        #expect(y == (try GatedMLP.forward(x, gateWeight: wGate, upWeight: wUp, downWeight: wDown, activation: activation)))
    }

    func gradients(_ dy: Tensor, _ activation: Activation, times: Int = 1, needDx: Bool = true,
                   needGate: Bool = true, needUp: Bool = true, needDown: Bool = true) throws -> [Tensor?] {
        var saved = GatedMLP.Saved(), scratch = GatedMLP.Scratch(), y = Tensor(zeros: [])
        try GatedMLP.forward(x, gateWeight: wGate, upWeight: wUp, downWeight: wDown, activation: activation,
                             saved: &saved, into: &y)
        var dx: Tensor? = needDx ? Tensor(zeros: x.shape) : nil
        var dGate: Tensor? = needGate ? Tensor(zeros: wGate.shape) : nil
        var dUp: Tensor? = needUp ? Tensor(zeros: wUp.shape) : nil
        var dDown: Tensor? = needDown ? Tensor(zeros: wDown.shape) : nil
        for _ in 0..<times {
            try GatedMLP.backward(dy: dy, x: x, gateWeight: wGate, upWeight: wUp, downWeight: wDown,
                                  activation: activation, saved: saved, scratch: &scratch,
                                  dx: &dx, dGateWeight: &dGate, dUpWeight: &dUp, dDownWeight: &dDown)
        }
        return [dx, dGate, dUp, dDown]
    }

    /// Bound: relative error ≤ 2e-3 (measured 4.7e-4 for both activations; h = 1e-2; smooth composition of unit-scale linear maps).
    @Test(arguments: Activation.allCases) func gradientCheck(_ activation: Activation) throws {
        let result = try GradCheck.check(inputs: [x, wGate, wUp, wDown], forward: { xs in
            try GatedMLP.forward(xs[0], gateWeight: xs[1], upWeight: xs[2], downWeight: xs[3], activation: activation)
        }, backward: { dy, xs in
            var saved = GatedMLP.Saved(), scratch = GatedMLP.Scratch(), y = Tensor(zeros: [])
            try GatedMLP.forward(xs[0], gateWeight: xs[1], upWeight: xs[2], downWeight: xs[3], activation: activation,
                                 saved: &saved, into: &y)
            var dx: Tensor? = Tensor(zeros: xs[0].shape), dGate: Tensor? = Tensor(zeros: xs[1].shape)
            var dUp: Tensor? = Tensor(zeros: xs[2].shape), dDown: Tensor? = Tensor(zeros: xs[3].shape)
            try GatedMLP.backward(dy: dy, x: xs[0], gateWeight: xs[1], upWeight: xs[2], downWeight: xs[3],
                                  activation: activation, saved: saved, scratch: &scratch,
                                  dx: &dx, dGateWeight: &dGate, dUpWeight: &dUp, dDownWeight: &dDown)
            return [dx!, dGate!, dUp!, dDown!]
        })
        #expect(result.maxError < 2e-3, "\(result.worst)")
    }

    /// Calling backward twice doubles every gradient; leaving some gradients nil changes
    /// none of the others; two runs agree bit for bit.
    @Test(arguments: Activation.allCases) func backwardAccumulatesAndSkipsNil(_ activation: Activation) throws {
        let dy = Tensor.randomNormal([2, 3, 5], seed: 65)
        let once = try gradients(dy, activation), twice = try gradients(dy, activation, times: 2)
        for i in 0..<4 { #expect(LayerTestSupport.isDouble(twice[i]!, of: once[i]!)) }
        #expect(try gradients(dy, activation).map { $0! } == once.map { $0! })
        let dxOnly = try gradients(dy, activation, needGate: false, needUp: false, needDown: false)
        #expect(dxOnly[0]! == once[0]! && dxOnly[1] == nil && dxOnly[3] == nil)
        let downOnly = try gradients(dy, activation, needDx: false, needGate: false, needUp: false)
        #expect(downOnly[3]! == once[3]! && downOnly[0] == nil)
        let gateOnly = try gradients(dy, activation, needDx: false, needUp: false, needDown: false)
        #expect(gateOnly[1]! == once[1]!)
    }

    @Test func shapeErrorsNameBothShapes() {
        #expect(LayerTestSupport.throwsNaming(["[2, 3, 7]", "[10, 6]"]) {
            _ = try GatedMLP.forward(Tensor(zeros: [2, 3, 7]), gateWeight: wGate, upWeight: wUp, downWeight: wDown, activation: .silu)
        })
        #expect(LayerTestSupport.throwsNaming(["[9, 6]", "[10, 6]"]) {
            _ = try GatedMLP.forward(x, gateWeight: wGate, upWeight: Tensor(zeros: [9, 6]), downWeight: wDown, activation: .silu)
        })
        #expect(LayerTestSupport.throwsNaming(["[5, 9]", "[10, 6]"]) {
            _ = try GatedMLP.forward(x, gateWeight: wGate, upWeight: wUp, downWeight: Tensor(zeros: [5, 9]), activation: .silu)
        })
        #expect(LayerTestSupport.throwsNaming(["[2, 3, 4]", "[2, 3, 5]"]) {
            var scratch = GatedMLP.Scratch(), dx: Tensor? = nil, a: Tensor? = nil, b: Tensor? = nil, c: Tensor? = nil
            try GatedMLP.backward(dy: Tensor(zeros: [2, 3, 4]), x: x, gateWeight: wGate, upWeight: wUp, downWeight: wDown,
                                  activation: .silu, saved: GatedMLP.Saved(), scratch: &scratch,
                                  dx: &dx, dGateWeight: &a, dUpWeight: &b, dDownWeight: &c)
        })
        // A `saved` that did not come from a forward on this input.
        #expect(LayerTestSupport.throwsNaming(["saved gate", "[]", "[2, 3, 10]"]) {
            var scratch = GatedMLP.Scratch(), dx: Tensor? = nil, a: Tensor? = nil, b: Tensor? = nil, c: Tensor? = nil
            try GatedMLP.backward(dy: Tensor(zeros: [2, 3, 5]), x: x, gateWeight: wGate, upWeight: wUp, downWeight: wDown,
                                  activation: .silu, saved: GatedMLP.Saved(), scratch: &scratch,
                                  dx: &dx, dGateWeight: &a, dUpWeight: &b, dDownWeight: &c)
        })
    }
}
