import Foundation
import Testing
@testable import CastTensor

/// AdamW against a naive double-precision loop. Parameters are O(1) and each update O(lr),
/// so float32 rounding keeps the optimizer within 1e-7 + 1e-6·|p| of the reference over
/// 8 steps (measured: 4% of that bound); dropping bias correction (a 3× larger first step) or coupling the weight
/// decay into the gradient changes the result by ≥ 1e-3.
@Suite struct AdamWTests {
    /// The textbook AdamW update in Double.
    struct Reference {
        var config: AdamWConfig
        var m: [[Double]], v: [[Double]], t = 0

        init(config: AdamWConfig, shapes: [[Int]]) {
            self.config = config
            m = shapes.map { [Double](repeating: 0, count: $0.reduce(1, *)) }
            v = m
        }

        mutating func step(_ params: inout [[Double]], _ grads: [[Double]]) {
            t += 1
            let lr = Double(config.learningRate), wd = Double(config.weightDecay)
            let b1 = Double(config.beta1), b2 = Double(config.beta2), eps = Double(config.epsilon)
            for i in params.indices {
                for j in params[i].indices {
                    let g = grads[i][j]
                    m[i][j] = b1 * m[i][j] + (1 - b1) * g
                    v[i][j] = b2 * v[i][j] + (1 - b2) * g * g
                    let mHat = m[i][j] / (1 - pow(b1, Double(t)))
                    let vHat = v[i][j] / (1 - pow(b2, Double(t)))
                    params[i][j] -= lr * wd * params[i][j]
                    params[i][j] -= lr * mHat / (vHat.squareRoot() + eps)
                }
            }
        }
    }

    static func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

    @Test func matchesDoubleReferenceOverSeveralSteps() throws {
        let config = AdamWConfig(learningRate: 1e-2, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        var params = [Tensor.randomNormal([3, 4], seed: 1), Tensor.randomNormal([5], seed: 2),
                      Tensor.randomNormal([70_000], seed: 3)]  // large enough to split across cores
        var reference = params.map(Self.doubles)
        let optimizer = AdamW(config: config)
        var ref = Reference(config: config, shapes: params.map(\.shape))
        var rng = SeededGenerator(seed: 10)
        for step in 1...8 {
            // A schedule: the learning rate changes every step.
            let lr: Float = 1e-2 * Float(step) / 4
            optimizer.config.learningRate = lr
            ref.config.learningRate = lr
            let grads = params.map { Tensor.randomNormal($0.shape, std: 0.5, using: &rng) }
            try optimizer.step(parameters: &params, gradients: grads)
            ref.step(&reference, grads.map(Self.doubles))
        }
        #expect(optimizer.stepCount == 8)
        // Largest error relative to the bound 1e-7 + 1e-6·|p| (must stay ≤ 1).
        var worst = 0.0
        for (p, r) in zip(params, reference) {
            for (x, y) in zip(Self.doubles(p), r) { worst = max(worst, abs(x - y) / (1e-7 + 1e-6 * abs(y))) }
        }
        #expect(worst <= 1, "error / bound = \(worst)")
    }

    /// With bias correction the first step moves every element by lr·g/(|g| + ε) ≈ lr·sign(g)
    /// (within 1e-7 for |g| ≥ 1e-2); without it the move would be lr·0.1/√0.001 ≈ 3.2·lr.
    @Test func firstStepMovesByLearningRate() throws {
        let optimizer = AdamW(config: AdamWConfig(learningRate: 0.01, weightDecay: 0))
        let start = Tensor.randomNormal([64], seed: 4)
        var params = [start]
        let g = Tensor.randomNormal([64], seed: 5)
        try optimizer.step(parameters: &params, gradients: [g])
        for j in 0..<64 where abs(g.data[j]) >= 1e-2 {
            let moved = start.data[j] - params[0].data[j]
            #expect(abs(moved - 0.01 * (g.data[j] > 0 ? 1 : -1)) < 1e-7)
        }
    }

    /// Decoupled decay: with a zero gradient the update term is exactly 0, so each step
    /// multiplies by (1 − lr·wd) (within one float rounding per step).
    @Test func weightDecayIsDecoupled() throws {
        let optimizer = AdamW(config: AdamWConfig(learningRate: 0.1, weightDecay: 0.5))
        let start = Tensor.randomNormal([10], seed: 6)
        var params = [start]
        for _ in 0..<3 { try optimizer.step(parameters: &params, gradients: [Tensor(zeros: [10])]) }
        for j in 0..<10 {
            let expected = Double(start.data[j]) * pow(0.95, 3)
            #expect(abs(Double(params[0].data[j]) - expected) <= 4e-7 * abs(expected))
        }
    }

    /// f(x) = ½ Σ aᵢ(xᵢ − cᵢ)² with curvatures 0.5…5: 400 steps at lr 0.05 then 100 at
    /// 0.005 bring f below 1e-8 of its start (measured 4e-14).
    @Test func minimisesAQuadratic() throws {
        let n = 50
        let a = Tensor.randomUniform([n], low: 0.5, high: 5, seed: 7)
        let c = Tensor.randomNormal([n], seed: 8)
        func loss(_ x: Tensor) -> Double {
            (0..<n).reduce(0.0) { $0 + 0.5 * Double(a.data[$1]) * pow(Double(x.data[$1] - c.data[$1]), 2) }
        }
        var params = [Tensor(zeros: [n])]
        let start = loss(params[0])
        let optimizer = AdamW(config: AdamWConfig(learningRate: 0.05, weightDecay: 0))
        var grad = Tensor(zeros: [n])
        for step in 0..<500 {
            if step == 400 { optimizer.config.learningRate = 0.005 }
            for j in 0..<n { grad.mutableData[j] = a.data[j] * (params[0].data[j] - c.data[j]) }
            try optimizer.step(parameters: &params, gradients: [grad])
        }
        #expect(loss(params[0]) < 1e-8 * start, "loss \(start) → \(loss(params[0]))")
    }

    @Test func momentBuffersAreAllocatedOnceAndReused() throws {
        let optimizer = AdamW()
        var params = [Tensor.randomNormal([4, 4], seed: 1), Tensor.randomNormal([3], seed: 2)]
        let grads = params.map { Tensor.randomNormal($0.shape, seed: 3) }
        try optimizer.step(parameters: &params, gradients: grads)
        let first = optimizer.firstMoments.map(\.data), second = optimizer.secondMoments.map(\.data)
        for _ in 0..<3 { try optimizer.step(parameters: &params, gradients: grads) }
        #expect(optimizer.firstMoments.map(\.data) == first)
        #expect(optimizer.secondMoments.map(\.data) == second)
        #expect(optimizer.stepCount == 4)
        optimizer.reset()
        #expect(optimizer.stepCount == 0)
        // After reset a different parameter list is accepted.
        var other = [Tensor(zeros: [2])]
        try optimizer.step(parameters: &other, gradients: [Tensor(repeating: 1, shape: [2])])
        #expect(optimizer.stepCount == 1)
    }

    @Test func gradientShapeMismatchThrowsNamingBothAndChangesNothing() throws {
        let optimizer = AdamW()
        let start = [Tensor.randomNormal([2, 3], seed: 1), Tensor.randomNormal([4], seed: 2)]
        var params = start
        #expect {
            try optimizer.step(parameters: &params, gradients: [Tensor(zeros: [2, 3]), Tensor(zeros: [5])])
        } throws: { "\($0)".contains("[4]") && "\($0)".contains("[5]") }
        #expect {
            try optimizer.step(parameters: &params, gradients: [Tensor(zeros: [2, 3])])
        } throws: { "\($0)".contains("2 parameters but 1 gradients") }
        #expect(params == start)
        #expect(optimizer.stepCount == 0)
    }

    @Test func changedParameterListThrows() throws {
        let optimizer = AdamW()
        var params = [Tensor.randomNormal([2, 3], seed: 1), Tensor.randomNormal([4], seed: 2)]
        try optimizer.step(parameters: &params, gradients: params.map { Tensor(repeating: 1, shape: $0.shape) })
        let after = params
        var fewer = [params[0]]
        #expect {
            try optimizer.step(parameters: &fewer, gradients: [Tensor(zeros: [2, 3])])
        } throws: { "\($0)".contains("parameter list changed") }
        var reshaped = [params[0], Tensor(zeros: [6])]
        #expect {
            try optimizer.step(parameters: &reshaped, gradients: [Tensor(zeros: [2, 3]), Tensor(zeros: [6])])
        } throws: { "\($0)".contains("[6]") && "\($0)".contains("[4]") }
        #expect(optimizer.stepCount == 1)
        #expect(params == after)
    }

    @Test func invalidConfigThrows() {
        let bad = [AdamWConfig(learningRate: -1), AdamWConfig(learningRate: .nan), AdamWConfig(beta1: 1),
                   AdamWConfig(beta2: -0.1), AdamWConfig(epsilon: 0), AdamWConfig(weightDecay: -0.5)]
        for config in bad {
            var params = [Tensor(zeros: [2])]
            #expect(throws: TensorError.self) {
                try AdamW(config: config).step(parameters: &params, gradients: [Tensor(zeros: [2])])
            }
        }
    }

    @Test func configDecodesMissingFieldsAsDefaults() throws {
        let decoder = JSONDecoder()
        #expect(try decoder.decode(AdamWConfig.self, from: Data("{}".utf8)) == AdamWConfig())
        let partial = try decoder.decode(AdamWConfig.self, from: Data(#"{"learningRate": 0.5, "weightDecay": 0}"#.utf8))
        #expect(partial == AdamWConfig(learningRate: 0.5, weightDecay: 0))
        #expect(partial.beta2 == 0.999)
        let custom = AdamWConfig(learningRate: 3e-4, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.2)
        #expect(try decoder.decode(AdamWConfig.self, from: JSONEncoder().encode(custom)) == custom)
    }
}
