import Testing
@testable import CastTensor

@Suite struct LinearTests {
    @Test func forwardMatchesDoubleLoop() throws {
        let x = Tensor.randomNormal([2, 3, 5], seed: 1)
        let w = Tensor.randomNormal([4, 5], seed: 2)
        let b = Tensor.randomNormal([4], seed: 3)
        let y = try Linear.forward(x, weight: w, bias: b)
        #expect(y.shape == [2, 3, 4])
        var ref = [Double]()
        for r in 0..<6 {
            for o in 0..<4 {
                var s = Double(b.data[o])
                for i in 0..<5 { s += Double(x.data[r * 5 + i]) * Double(w.data[o * 5 + i]) }
                ref.append(s)
            }
        }
        #expect(Reference.maxAbsDiff(y, ref) < 1e-5)
    }

    /// A single row takes the matrix-vector path; it must agree with the GEMM path's row
    /// and with a double loop, with and without bias (bound 1e-4 on sums of 300 terms).
    @Test func singleRowMatchesBatchedRows() throws {
        let x = Tensor.randomNormal([3, 300], seed: 4)
        let w = Tensor.randomNormal([70, 300], seed: 5)
        let b = Tensor.randomNormal([70], seed: 6)
        for bias in [nil, b] {
            let all = try Linear.forward(x, weight: w, bias: bias)
            for r in 0..<3 {
                var row = Tensor(zeros: [1, 300])
                row.mutableData.update(from: x.data + r * 300, count: 300)
                let one = try Linear.forward(row, weight: w, bias: bias)
                #expect(one.shape == [1, 70])
                var ref = [Double]()
                for o in 0..<70 {
                    var s = Double(bias?.data[o] ?? 0)
                    for i in 0..<300 { s += Double(row.data[i]) * Double(w.data[o * 300 + i]) }
                    ref.append(s)
                }
                #expect(Reference.maxAbsDiff(one, ref) < 1e-4)
                for o in 0..<70 { #expect(abs(one.data[o] - all.data[r * 70 + o]) < 1e-4) }
            }
        }
    }

    /// Bound: relative error ≤ 1e-2 (float32 forward, h = 1e-2; the op is linear so the
    /// central difference is exact up to rounding).
    @Test func gradientCheck() throws {
        let inputs = [Tensor.randomNormal([2, 3, 5], seed: 1), Tensor.randomNormal([4, 5], seed: 2),
                      Tensor.randomNormal([4], seed: 3)]
        let result = try GradCheck.check(inputs: inputs, forward: { xs in
            try Linear.forward(xs[0], weight: xs[1], bias: xs[2])
        }, backward: { dy, xs in
            var dx: Tensor? = Tensor(zeros: xs[0].shape)
            var dw: Tensor? = Tensor(zeros: xs[1].shape)
            var db: Tensor? = Tensor(zeros: xs[2].shape)
            try Linear.backward(dy: dy, x: xs[0], weight: xs[1], dx: &dx, dWeight: &dw, dBias: &db)
            return [dx!, dw!, db!]
        })
        #expect(result.maxError < 1e-2, "\(result.worst)")
    }

    @Test func backwardAccumulates() throws {
        let x = Tensor.randomNormal([3, 5], seed: 1), w = Tensor.randomNormal([4, 5], seed: 2)
        let dy = Tensor.randomNormal([3, 4], seed: 3)
        var once: Tensor? = Tensor(zeros: [4, 5]), twice: Tensor? = Tensor(zeros: [4, 5])
        var noDx: Tensor? = nil, noDBias: Tensor? = nil
        try Linear.backward(dy: dy, x: x, weight: w, dx: &noDx, dWeight: &once, dBias: &noDBias)
        try Linear.backward(dy: dy, x: x, weight: w, dx: &noDx, dWeight: &twice, dBias: &noDBias)
        try Linear.backward(dy: dy, x: x, weight: w, dx: &noDx, dWeight: &twice, dBias: &noDBias)
        for i in 0..<20 { #expect(abs(twice!.data[i] - 2 * once!.data[i]) < 1e-5) }
    }

    @Test func mismatchedShapesThrowNamingBoth() {
        let x = Tensor(zeros: [3, 5]), w = Tensor(zeros: [4, 6])
        #expect {
            _ = try Linear.forward(x, weight: w)
        } throws: { error in
            let text = "\(error)"
            return text.contains("[3, 5]") && text.contains("[4, 6]")
        }
    }
}
