import Foundation
import Testing
@testable import CastTensor

@Suite struct RMSNormTests {
    /// 37 columns: not a multiple of the 8-lane SIMD width, so the scalar tails run too.
    let x = Tensor.randomNormal([2, 3, 37], mean: 0.3, seed: 21)
    let w = Tensor.randomNormal([37], mean: 1, std: 0.2, seed: 22)
    let eps: Float = 1e-5

    @Test func forwardMatchesDoubleLoop() throws {
        var y = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try RMSNorm.forward(x, weight: w, eps: eps, into: &y, rstd: &rstd)
        #expect(y.shape == [2, 3, 37] && rstd.shape == [6])
        var ref = [Double](), refRstd = [Double]()
        for r in 0..<6 {
            var ss = 0.0
            for i in 0..<37 { ss += Double(x.data[r * 37 + i]) * Double(x.data[r * 37 + i]) }
            let s = 1 / (ss / 37 + Double(eps)).squareRoot()
            refRstd.append(s)
            for i in 0..<37 { ref.append(Double(x.data[r * 37 + i]) * s * Double(w.data[i])) }
        }
        #expect(Reference.maxAbsDiff(y, ref) < 1e-5)
        #expect(Reference.maxAbsDiff(rstd, refRstd) < 1e-5)
    }

    /// Bound: relative error ≤ 5e-4 (measured 5.1e-5; h = 1e-2, float32 forward; truncation error is
    /// O(h²·f‴) with f‴ = O(1) for unit-scale rows).
    @Test func gradientCheck() throws {
        let result = try GradCheck.check(inputs: [x, w], forward: { xs in
            try RMSNorm.forward(xs[0], weight: xs[1], eps: eps)
        }, backward: { dy, xs in
            var y = Tensor(zeros: []), rstd = Tensor(zeros: [])
            try RMSNorm.forward(xs[0], weight: xs[1], eps: eps, into: &y, rstd: &rstd)
            var dx: Tensor? = Tensor(zeros: xs[0].shape), dw: Tensor? = Tensor(zeros: xs[1].shape)
            try RMSNorm.backward(dy: dy, x: xs[0], weight: xs[1], rstd: rstd, dx: &dx, dWeight: &dw)
            return [dx!, dw!]
        })
        #expect(result.maxError < 5e-4, "\(result.worst)")
    }

    @Test func backwardAccumulates() throws {
        var y = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try RMSNorm.forward(x, weight: w, eps: eps, into: &y, rstd: &rstd)
        let dy = Tensor.randomNormal(x.shape, seed: 23)
        var dx1: Tensor? = Tensor(zeros: x.shape), dw1: Tensor? = Tensor(zeros: [37])
        var dx2: Tensor? = Tensor(zeros: x.shape), dw2: Tensor? = Tensor(zeros: [37])
        try RMSNorm.backward(dy: dy, x: x, weight: w, rstd: rstd, dx: &dx1, dWeight: &dw1)
        for _ in 0..<2 { try RMSNorm.backward(dy: dy, x: x, weight: w, rstd: rstd, dx: &dx2, dWeight: &dw2) }
        #expect(LayerTestSupport.isDouble(dx2!, of: dx1!))
        #expect(LayerTestSupport.isDouble(dw2!, of: dw1!))
        var none: Tensor? = nil, dwOnly: Tensor? = Tensor(zeros: [37])
        try RMSNorm.backward(dy: dy, x: x, weight: w, rstd: rstd, dx: &none, dWeight: &dwOnly)
        #expect(dwOnly! == dw1!)
    }

    /// 2000 rows span several parallel chunks; each row must equal the same row normalised
    /// on its own, and two runs must agree bit for bit.
    @Test func rowsDoNotDependOnTheSplit() throws {
        let big = Tensor.randomNormal([2000, 40], seed: 24), bw = Tensor.randomNormal([40], seed: 25)
        let y = try RMSNorm.forward(big, weight: bw, eps: eps)
        #expect(y == (try RMSNorm.forward(big, weight: bw, eps: eps)))
        for r in [0, 999, 1000, 1999] {
            let alone = try RMSNorm.forward(LayerTestSupport.row(big, r), weight: bw, eps: eps)
            #expect(alone == LayerTestSupport.row(y, r))
        }
        var yy = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try RMSNorm.forward(big, weight: bw, eps: eps, into: &yy, rstd: &rstd)
        let dy = Tensor.randomNormal(big.shape, seed: 26)
        var grads = [(Tensor, Tensor)]()
        for _ in 0..<2 {
            var dx: Tensor? = Tensor(zeros: big.shape), dw: Tensor? = Tensor(zeros: [40])
            try RMSNorm.backward(dy: dy, x: big, weight: bw, rstd: rstd, dx: &dx, dWeight: &dw)
            grads.append((dx!, dw!))
        }
        #expect(grads[0].0 == grads[1].0 && grads[0].1 == grads[1].1)
    }

    @Test func shapeErrorsNameBothShapes() {
        #expect(LayerTestSupport.throwsNaming(["[2, 3, 37]", "[36]"]) {
            _ = try RMSNorm.forward(x, weight: Tensor(zeros: [36]), eps: eps)
        })
        #expect(LayerTestSupport.throwsNaming(["[2, 37]", "[2, 3, 37]"]) {
            var dx: Tensor? = nil, dw: Tensor? = nil
            try RMSNorm.backward(dy: Tensor(zeros: [2, 37]), x: x, weight: w, rstd: Tensor(zeros: [6]),
                                 dx: &dx, dWeight: &dw)
        })
        #expect(LayerTestSupport.throwsNaming(["[5]", "[6]"]) {
            var dx: Tensor? = nil, dw: Tensor? = nil
            try RMSNorm.backward(dy: x, x: x, weight: w, rstd: Tensor(zeros: [5]), dx: &dx, dWeight: &dw)
        })
        #expect(LayerTestSupport.throwsNaming(["[38]", "[37]"]) {
            var dx: Tensor? = nil, dw: Tensor? = Tensor(zeros: [38])
            try RMSNorm.backward(dy: x, x: x, weight: w, rstd: Tensor(zeros: [6]), dx: &dx, dWeight: &dw)
        })
    }
}
