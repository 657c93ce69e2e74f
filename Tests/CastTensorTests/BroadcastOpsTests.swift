import Testing
@testable import CastTensor

@Suite struct BroadcastOpsTests {
    static let shapePairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]), ([5, 7], [7]), ([7], [5, 7]), ([4, 1], [1, 6]), ([2, 3, 4], [3, 1]),
        ([2, 1, 4], [1, 3, 1]), ([3, 4], [1]), ([], [2, 3]),
    ]

    /// Bound: relative error ≤ 1e-2 (h = 1e-2; the output is linear in each operand, so the
    /// central difference is exact up to float rounding of the forward).
    @Test func addGradientCheck() throws {
        try checkGradientsOverShapePairs(seeds: (1, 2), forward: BroadcastAdd.forward) { dy, xs, da, db in
            try BroadcastAdd.backward(dy: dy, aShape: xs[0].shape, bShape: xs[1].shape, da: &da, db: &db)
        }
    }

    /// Bound: relative error ≤ 1e-2 (h = 1e-2; bilinear, so each partial derivative is exact
    /// for the central difference up to float rounding).
    @Test func multiplyGradientCheck() throws {
        try checkGradientsOverShapePairs(seeds: (3, 4), forward: BroadcastMultiply.forward) { dy, xs, da, db in
            try BroadcastMultiply.backward(dy: dy, a: xs[0], b: xs[1], da: &da, db: &db)
        }
    }

    /// Finite-difference check of a binary op over every pair in `shapePairs`, relative error
    /// below 1e-2; `backward` accumulates into zeroed gradients of both operands.
    private func checkGradientsOverShapePairs(
        seeds: (UInt64, UInt64), forward: (Tensor, Tensor) throws -> Tensor,
        backward: (_ dy: Tensor, _ inputs: [Tensor], _ da: inout Tensor?, _ db: inout Tensor?) throws -> Void
    ) throws {
        for (sa, sb) in Self.shapePairs {
            let inputs = [Tensor.randomNormal(sa, seed: seeds.0), Tensor.randomNormal(sb, seed: seeds.1)]
            let result = try GradCheck.check(inputs: inputs, forward: { xs in
                try forward(xs[0], xs[1])
            }, backward: { dy, xs in
                var da: Tensor? = Tensor(zeros: sa), db: Tensor? = Tensor(zeros: sb)
                try backward(dy, xs, &da, &db)
                return [da!, db!]
            })
            #expect(result.maxError < 1e-2, "\(sa) \(sb): \(result.worst)")
        }
    }

    @Test func backwardAccumulatesAndSkipsNil() throws {
        let a = Tensor.randomNormal([6, 5], seed: 5), b = Tensor.randomNormal([5], seed: 6)
        let dy = Tensor.randomNormal([6, 5], seed: 7)
        var once: Tensor? = Tensor(zeros: [5]), twice: Tensor? = Tensor(zeros: [5]), none: Tensor? = nil
        try BroadcastMultiply.backward(dy: dy, a: a, b: b, da: &none, db: &once)
        try BroadcastMultiply.backward(dy: dy, a: a, b: b, da: &none, db: &twice)
        try BroadcastMultiply.backward(dy: dy, a: a, b: b, da: &none, db: &twice)
        for i in 0..<5 { #expect(Swift.abs(twice!.data[i] - 2 * once!.data[i]) < 1e-5) }
        #expect(none == nil)
        var fullOnce: Tensor? = Tensor(zeros: [6, 5]), fullTwice: Tensor? = Tensor(zeros: [6, 5])
        try BroadcastAdd.backward(dy: dy, aShape: [6, 5], bShape: [5], da: &fullOnce, db: &none)
        try BroadcastAdd.backward(dy: dy, aShape: [6, 5], bShape: [5], da: &fullTwice, db: &none)
        try BroadcastAdd.backward(dy: dy, aShape: [6, 5], bShape: [5], da: &fullTwice, db: &none)
        #expect(fullTwice! == fullOnce! * 2)
    }

    @Test func wrongShapesThrowNamingThem() {
        let a = Tensor(zeros: [6, 5]), b = Tensor(zeros: [5])
        var wrong: Tensor? = Tensor(zeros: [4]), none: Tensor? = nil, none2: Tensor? = nil
        #expect {
            try BroadcastAdd.backward(dy: Tensor(zeros: [6, 5]), aShape: [6, 5], bShape: [5], da: &none, db: &wrong)
        } throws: { errorNames($0, "[4]", "[5]") }
        #expect {
            try BroadcastMultiply.backward(dy: Tensor(zeros: [5, 6]), a: a, b: b, da: &none, db: &none2)
        } throws: { errorNames($0, "[5, 6]", "[6, 5]") }
        #expect { _ = try BroadcastMultiply.forward(a, Tensor(zeros: [6])) } throws: { errorNames($0, "[6, 5]", "[6]") }
    }

    /// Large operands through the parallel and fused paths twice → bit-identical gradients.
    @Test func backwardIsDeterministic() throws {
        let a = Tensor.randomNormal([512, 300], seed: 8), b = Tensor.randomNormal([300], seed: 9)
        let dy = Tensor.randomNormal([512, 300], seed: 10)
        func grads() throws -> (Tensor, Tensor) {
            var da: Tensor? = Tensor(zeros: a.shape), db: Tensor? = Tensor(zeros: b.shape)
            try BroadcastMultiply.backward(dy: dy, a: a, b: b, da: &da, db: &db)
            return (da!, db!)
        }
        let (da1, db1) = try grads(), (da2, db2) = try grads()
        #expect(da1 == da2)
        #expect(db1 == db2)
    }
}
