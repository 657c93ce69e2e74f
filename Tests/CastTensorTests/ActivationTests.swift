import Foundation
import Testing
@testable import CastTensor

/// SiLU, GELU (tanh) and the gated activation built on them.
@Suite struct ActivationTests {
    static func silu(_ x: Double) -> Double { x / (1 + Foundation.exp(-x)) }
    static func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
    static func reference(_ a: Activation) -> (Double) -> Double {
        switch a {
        case .silu: { silu($0) }
        case .geluTanh: { gelu($0) }
        }
    }

    /// Unit-scale values plus extremes, which must saturate without inf or NaN.
    static let inputs: Tensor = {
        var values = Tensor.randomNormal([3, 41], std: 2, seed: 41).scalars
        values += [-200, -90, -30, -8, -1e-4, 0, 1e-4, 8, 30, 90, 200]
        return try! Tensor(values, shape: [values.count])
    }()

    /// |f(x) − f_double(x)| ≤ 4e-7·max(1, |x|): a few float ulps.
    @Test(arguments: Activation.allCases) func forwardMatchesDouble(_ activation: Activation) throws {
        let x = Self.inputs
        let y = activation == .silu ? SiLU.forward(x) : GELU.forward(x)
        let ref = Self.reference(activation)
        for i in 0..<x.count {
            let xi = Double(x.data[i])
            #expect(abs(Double(y.data[i]) - ref(xi)) <= 4e-7 * max(1, abs(xi)), "x = \(xi): \(y.data[i]) vs \(ref(xi))")
        }
    }

    /// Bound: relative error ≤ 2e-4 (measured 1.0e-5 silu, 1.6e-5 gelu; h = 1e-2, smooth function, f‴ = O(1)).
    @Test(arguments: Activation.allCases) func gradientCheck(_ activation: Activation) throws {
        let x = Tensor.randomNormal([4, 9], std: 2, seed: 42)
        let result = try GradCheck.check(inputs: [x], forward: { xs in
            activation == .silu ? SiLU.forward(xs[0]) : GELU.forward(xs[0])
        }, backward: { dy, xs in
            var dx: Tensor? = Tensor(zeros: xs[0].shape)
            if activation == .silu { try SiLU.backward(dy: dy, x: xs[0], dx: &dx) } else { try GELU.backward(dy: dy, x: xs[0], dx: &dx) }
            return [dx!]
        })
        #expect(result.maxError < 2e-4, "\(result.worst)")
    }

    @Test func elementwiseBackwardAccumulatesAndChecksShapes() throws {
        let x = Tensor.randomNormal([5, 7], seed: 43), dy = Tensor.randomNormal([5, 7], seed: 44)
        var once: Tensor? = Tensor(zeros: [5, 7]), twice: Tensor? = Tensor(zeros: [5, 7])
        try GELU.backward(dy: dy, x: x, dx: &once)
        for _ in 0..<2 { try GELU.backward(dy: dy, x: x, dx: &twice) }
        #expect(LayerTestSupport.isDouble(twice!, of: once!))
        #expect(LayerTestSupport.throwsNaming(["[7, 5]", "[5, 7]"]) {
            var dx: Tensor? = nil
            try SiLU.backward(dy: Tensor(zeros: [7, 5]), x: x, dx: &dx)
        })
    }

    @Test(arguments: Activation.allCases) func gatedForwardMatchesDouble(_ activation: Activation) throws {
        let gate = Tensor.randomNormal([2, 3, 19], std: 2, seed: 45), up = Tensor.randomNormal([2, 3, 19], seed: 46)
        let out = try GatedActivation.forward(gate: gate, up: up, activation: activation)
        #expect(out.shape == [2, 3, 19])
        let f = Self.reference(activation)
        let ref = (0..<gate.count).map { f(Double(gate.data[$0])) * Double(up.data[$0]) }
        #expect(Reference.maxAbsDiff(out, ref) < 1e-5)
    }

    /// Bound: relative error ≤ 2e-4 (measured 1.9e-5 silu, 2.7e-5 gelu; h = 1e-2; the output is linear in `up` and smooth in `gate`).
    @Test(arguments: Activation.allCases) func gatedGradientCheck(_ activation: Activation) throws {
        let inputs = [Tensor.randomNormal([3, 11], std: 2, seed: 47), Tensor.randomNormal([3, 11], seed: 48)]
        let result = try GradCheck.check(inputs: inputs, forward: { xs in
            try GatedActivation.forward(gate: xs[0], up: xs[1], activation: activation)
        }, backward: { dy, xs in
            var dGate: Tensor? = Tensor(zeros: xs[0].shape), dUp: Tensor? = Tensor(zeros: xs[1].shape)
            try GatedActivation.backward(dy: dy, gate: xs[0], up: xs[1], activation: activation, dGate: &dGate, dUp: &dUp)
            return [dGate!, dUp!]
        })
        #expect(result.maxError < 2e-4, "\(result.worst)")
    }

    @Test(arguments: Activation.allCases) func gatedBackwardAccumulatesAndHonoursNil(_ activation: Activation) throws {
        let gate = Tensor.randomNormal([4, 13], seed: 49), up = Tensor.randomNormal([4, 13], seed: 50)
        let dy = Tensor.randomNormal([4, 13], seed: 51)
        var g1: Tensor? = Tensor(zeros: [4, 13]), u1: Tensor? = Tensor(zeros: [4, 13])
        var g2: Tensor? = Tensor(zeros: [4, 13]), u2: Tensor? = Tensor(zeros: [4, 13])
        try GatedActivation.backward(dy: dy, gate: gate, up: up, activation: activation, dGate: &g1, dUp: &u1)
        for _ in 0..<2 { try GatedActivation.backward(dy: dy, gate: gate, up: up, activation: activation, dGate: &g2, dUp: &u2) }
        #expect(LayerTestSupport.isDouble(g2!, of: g1!) && LayerTestSupport.isDouble(u2!, of: u1!))
        var none: Tensor? = nil, gOnly: Tensor? = Tensor(zeros: [4, 13]), uOnly: Tensor? = Tensor(zeros: [4, 13])
        try GatedActivation.backward(dy: dy, gate: gate, up: up, activation: activation, dGate: &gOnly, dUp: &none)
        try GatedActivation.backward(dy: dy, gate: gate, up: up, activation: activation, dGate: &none, dUp: &uOnly)
        #expect(gOnly! == g1! && uOnly! == u1!)
    }

    /// Enough elements for several parallel chunks: two runs agree bit for bit.
    @Test func largeGatedRunsAreBitIdentical() throws {
        let gate = Tensor.randomNormal([100, 1000], seed: 52), up = Tensor.randomNormal([100, 1000], seed: 53)
        for activation in Activation.allCases {
            let a = try GatedActivation.forward(gate: gate, up: up, activation: activation)
            #expect(a == (try GatedActivation.forward(gate: gate, up: up, activation: activation)))
        }
    }

    @Test func gatedShapeErrorsNameBothShapes() {
        #expect(LayerTestSupport.throwsNaming(["[3, 4]", "[4, 3]"]) {
            _ = try GatedActivation.forward(gate: Tensor(zeros: [3, 4]), up: Tensor(zeros: [4, 3]), activation: .silu)
        })
        #expect(LayerTestSupport.throwsNaming(["[2, 4]", "[3, 4]"]) {
            var dGate: Tensor? = Tensor(zeros: [2, 4]), dUp: Tensor? = nil
            try GatedActivation.backward(dy: Tensor(zeros: [3, 4]), gate: Tensor(zeros: [3, 4]), up: Tensor(zeros: [3, 4]),
                                         activation: .geluTanh, dGate: &dGate, dUp: &dUp)
        })
    }
}

/// The 8-lane activation kernels give the scalar definitions' bits on every element,
/// including tails and extremes (the two exps differ below e⁻⁸⁷).
@Suite struct ActivationLanesTests {
    static let inputs: [Float] = [-100, -88, -87.2, -87, -20, -3.5, -1, -0.0, 0, 1e-8, 0.5, 1, 3.5, 20, 87, 87.2, 88.5, 100]
        + (0..<37).map { Float($0) * 0.37 - 6 }

    @Test func siluAndGELULanesEqualScalar() throws {
        let x = try Tensor(Self.inputs, shape: [Self.inputs.count])
        let up = Tensor.randomNormal([Self.inputs.count], seed: 3)
        for (name, y, gated, scalar) in [
            ("silu", SiLU.forward(x), try GatedActivation.forward(gate: x, up: up, activation: .silu), SiLU.value),
            ("gelu", GELU.forward(x), try GatedActivation.forward(gate: x, up: up, activation: .geluTanh), GELU.value),
        ] as [(String, Tensor, Tensor, (Float) -> Float)] {
            for i in 0..<x.count {
                #expect(y.data[i].bitPattern == scalar(x.data[i]).bitPattern, "\(name)(\(x.data[i]))")
                #expect(gated.data[i].bitPattern == (scalar(x.data[i]) * up.data[i]).bitPattern, "gated \(name)(\(x.data[i]))")
            }
        }
    }
}
