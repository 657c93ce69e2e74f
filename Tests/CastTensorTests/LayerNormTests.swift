import Testing
@testable import CastTensor

@Suite struct LayerNormTests {
    let x = Tensor.randomNormal([2, 3, 37], mean: 0.5, seed: 31)
    let w = Tensor.randomNormal([37], mean: 1, std: 0.2, seed: 32)
    let b = Tensor.randomNormal([37], std: 0.3, seed: 33)
    let eps: Float = 1e-5

    static func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ eps: Float) -> (y: [Double], mean: [Double], rstd: [Double]) {
        let d = w.count, rows = x.count / d
        var y = [Double](), means = [Double](), rstds = [Double]()
        for r in 0..<rows {
            let row = (0..<d).map { Double(x.data[r * d + $0]) }
            let m = row.reduce(0, +) / Double(d)
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d)
            let s = 1 / (v + Double(eps)).squareRoot()
            means.append(m)
            rstds.append(s)
            for i in 0..<d { y.append((row[i] - m) * s * Double(w.data[i]) + (b.map { Double($0.data[i]) } ?? 0)) }
        }
        return (y, means, rstds)
    }

    @Test(arguments: [true, false]) func forwardMatchesDoubleLoop(withBias: Bool) throws {
        var y = Tensor(zeros: []), mean = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try LayerNorm.forward(x, weight: w, bias: withBias ? b : nil, eps: eps, into: &y, mean: &mean, rstd: &rstd)
        let ref = Self.reference(x, w, withBias ? b : nil, eps)
        #expect(y.shape == x.shape && mean.shape == [6] && rstd.shape == [6])
        #expect(Reference.maxAbsDiff(y, ref.y) < 1e-5)
        #expect(Reference.maxAbsDiff(mean, ref.mean) < 1e-6)
        #expect(Reference.maxAbsDiff(rstd, ref.rstd) < 1e-5)
    }

    /// Bound: relative error ≤ 5e-4 (measured 6.4e-5; h = 1e-2, float32 forward; truncation error is
    /// O(h²·f‴) with f‴ = O(1) for unit-scale rows).
    @Test func gradientCheck() throws {
        let result = try GradCheck.check(inputs: [x, w, b], forward: { xs in
            try LayerNorm.forward(xs[0], weight: xs[1], bias: xs[2], eps: eps)
        }, backward: { dy, xs in
            var y = Tensor(zeros: []), mean = Tensor(zeros: []), rstd = Tensor(zeros: [])
            try LayerNorm.forward(xs[0], weight: xs[1], bias: xs[2], eps: eps, into: &y, mean: &mean, rstd: &rstd)
            var dx: Tensor? = Tensor(zeros: xs[0].shape), dw: Tensor? = Tensor(zeros: [37]), db: Tensor? = Tensor(zeros: [37])
            try LayerNorm.backward(dy: dy, x: xs[0], weight: xs[1], mean: mean, rstd: rstd,
                                   dx: &dx, dWeight: &dw, dBias: &db)
            return [dx!, dw!, db!]
        })
        #expect(result.maxError < 5e-4, "\(result.worst)")
    }

    @Test func backwardAccumulatesAndIsReproducible() throws {
        var y = Tensor(zeros: []), mean = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try LayerNorm.forward(x, weight: w, bias: b, eps: eps, into: &y, mean: &mean, rstd: &rstd)
        let dy = Tensor.randomNormal(x.shape, seed: 34)
        func run(_ times: Int) throws -> [Tensor] {
            var dx: Tensor? = Tensor(zeros: x.shape), dw: Tensor? = Tensor(zeros: [37]), db: Tensor? = Tensor(zeros: [37])
            for _ in 0..<times {
                try LayerNorm.backward(dy: dy, x: x, weight: w, mean: mean, rstd: rstd, dx: &dx, dWeight: &dw, dBias: &db)
            }
            return [dx!, dw!, db!]
        }
        let once = try run(1), twice = try run(2)
        for i in 0..<3 { #expect(LayerTestSupport.isDouble(twice[i], of: once[i])) }
        #expect(try run(1) == once)
    }

    /// 2000 rows span several parallel chunks; each row must equal that row normalised alone.
    @Test func rowsDoNotDependOnTheSplit() throws {
        let big = Tensor.randomNormal([2000, 40], seed: 35)
        let bw = Tensor.randomNormal([40], seed: 36), bb = Tensor.randomNormal([40], seed: 37)
        let y = try LayerNorm.forward(big, weight: bw, bias: bb, eps: eps)
        #expect(y == (try LayerNorm.forward(big, weight: bw, bias: bb, eps: eps)))
        for r in [0, 999, 1000, 1999] {
            let alone = try LayerNorm.forward(LayerTestSupport.row(big, r), weight: bw, bias: bb, eps: eps)
            #expect(alone == LayerTestSupport.row(y, r))
        }
    }

    @Test func shapeErrorsNameBothShapes() {
        #expect(LayerTestSupport.throwsNaming(["[2, 3, 37]", "[36]"]) {
            _ = try LayerNorm.forward(x, weight: Tensor(zeros: [36]), bias: nil, eps: eps)
        })
        #expect(LayerTestSupport.throwsNaming(["[36]", "[37]"]) {
            _ = try LayerNorm.forward(x, weight: w, bias: Tensor(zeros: [36]), eps: eps)
        })
        #expect(LayerTestSupport.throwsNaming(["[4]", "[6]"]) {
            var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
            try LayerNorm.backward(dy: x, x: x, weight: w, mean: Tensor(zeros: [4]), rstd: Tensor(zeros: [6]),
                                   dx: &dx, dWeight: &dw, dBias: &db)
        })
        #expect(LayerTestSupport.throwsNaming(["[3, 37]", "[2, 3, 37]"]) {
            var dx: Tensor? = Tensor(zeros: [3, 37]), dw: Tensor? = nil, db: Tensor? = nil
            try LayerNorm.backward(dy: x, x: x, weight: w, mean: Tensor(zeros: [6]), rstd: Tensor(zeros: [6]),
                                   dx: &dx, dWeight: &dw, dBias: &db)
        })
    }
}
