import Testing
@testable import CastTensor

@Suite struct ReductionTests {
    /// Bound: relative error ≤ 1e-6 of the Double total (blocks of 4096 floats in 16 lanes,
    /// partials in Double). Sizes: empty, one partial lane, several blocks (parallel).
    @Test func totalsMatchDouble() throws {
        for n in [0, 5, 33, 3 * 4096 + 17, 100_003] {
            let x = Tensor.randomNormal([n], mean: 0.3, seed: UInt64(n))
            let values = x.scalars.map(Double.init)
            let sum = values.reduce(0, +), squares = values.reduce(0) { $0 + $1 * $1 }
            let scale = max(1, values.reduce(0) { $0 + Swift.abs($1) })
            #expect(Swift.abs(Double(x.sum()) - sum) <= 1e-6 * scale, "n = \(n)")
            #expect(Swift.abs(Double(x.sumOfSquares()) - squares) <= 1e-6 * max(1, squares), "n = \(n)")
            #expect(Swift.abs(Double(x.norm()) - squares.squareRoot()) <= 1e-6 * max(1, squares.squareRoot()))
            if n > 0 { #expect(Swift.abs(Double(x.mean()) - sum / Double(n)) <= 1e-6 * scale / Double(n)) }
        }
        #expect(Tensor(zeros: [0]).mean().isNaN)
    }

    /// Bound: |error| ≤ 1e-5 · Σ|x| along the axis (float sums of up to 1000 terms: the
    /// worst case is (n−1)·2⁻²⁴·Σ|x|, the typical error √n·2⁻²⁴·Σ|x| ≈ 2e-6·Σ|x|).
    /// Shapes reach each kernel branch: last axis, many outer blocks, a single outer block
    /// with the columns split, and an empty axis.
    @Test func sumAlongAxisMatchesDoubleLoop() throws {
        let cases: [([Int], Int)] = [
            ([3, 4, 5], 0), ([3, 4, 5], 1), ([3, 4, 5], 2), ([3, 4, 5], -1), ([3, 4, 5], -3),
            ([300, 200], -1), ([50, 30, 40], 1), ([1000, 64], 0), ([2, 0, 3], 1), ([7], 0),
            ([4, 3, 0], 1), ([0, 5], 1),
        ]
        for (seed, (shape, axis)) in cases.enumerated() {
            let x = Tensor.randomNormal(shape, seed: UInt64(seed))
            let ax = axis < 0 ? axis + shape.count : axis
            var keptShape = shape
            keptShape[ax] = 1
            var ref = [Double](repeating: 0, count: keptShape.reduce(1, *)), magnitude = ref
            for i in 0..<x.count {
                var index = Naive.multiIndex(i, shape)
                index[ax] = 0
                ref[Naive.flatIndex(index, keptShape)] += Double(x.data[i])
                magnitude[Naive.flatIndex(index, keptShape)] += Swift.abs(Double(x.data[i]))
            }
            func within(_ t: Tensor, _ expected: [Double], _ divisor: Double) -> Bool {
                (0..<t.count).allSatisfy { Swift.abs(Double(t.data[$0]) - expected[$0]) <= 1e-5 * magnitude[$0] / divisor + 1e-12 }
            }
            let kept = try x.sum(axis: axis, keepDims: true), dropped = try x.sum(axis: axis)
            #expect(kept.shape == keptShape)
            var droppedShape = shape
            droppedShape.remove(at: ax)
            #expect(dropped.shape == droppedShape)
            #expect(within(kept, ref, 1), "\(shape) axis \(axis)")
            #expect(dropped.scalars == kept.scalars)
            let mean = try x.mean(axis: axis)
            let n = Double(shape[ax])
            #expect(n == 0 ? mean.scalars.allSatisfy(\.isNaN) : within(mean, ref.map { $0 / n }, n), "\(shape) axis \(axis)")
        }
    }

    @Test func badAxisThrowsNamingShape() {
        let x = Tensor(zeros: [3, 4])
        #expect { _ = try x.sum(axis: 2) } throws: { errorNames($0, "axis 2", "[3, 4]") }
        #expect { _ = try x.mean(axis: -3) } throws: { errorNames($0, "axis -3", "[3, 4]") }
        #expect { _ = try Tensor(zeros: [3, 0]).maxAlongLastAxis() } throws: { errorNames($0, "[3, 0]") }
        #expect { _ = try Tensor(zeros: []).argmaxAlongLastAxis() } throws: { errorNames($0, "[]") }
    }

    @Test func maxAndArgmaxMatchNaive() throws {
        for shape in [[1], [7], [4, 9], [2, 3, 50], [400, 129]] {
            let x = Tensor.randomNormal(shape, seed: UInt64(shape.reduce(1, *)))
            let d = shape.last!, rows = x.count / d
            let values = try x.maxAlongLastAxis(), indices = try x.argmaxAlongLastAxis()
            #expect(values.shape == Array(shape.dropLast()))
            #expect(try x.maxAlongLastAxis(keepDims: true).shape == Array(shape.dropLast()) + [1])
            for r in 0..<rows {
                let row = (0..<d).map { x.data[r * d + $0] }
                let best = row.max()!
                #expect(values.data[r] == best)
                #expect(Int(indices[r]) == row.firstIndex(of: best)!)
            }
        }
        let ties = try Tensor([1, 5, 5, 2, -1, -1, -3, -1], shape: [2, 4])
        #expect(try ties.argmaxAlongLastAxis() == [1, 0])
        let withNaN = try Tensor([1, .nan, 3, 2], shape: [1, 4])
        #expect(try withNaN.argmaxAlongLastAxis() == [2])
    }

    /// Same inputs twice, on sizes that take the parallel paths → bit-identical results.
    @Test func deterministic() throws {
        let x = Tensor.randomNormal([700, 300], seed: 11)
        #expect(x.sum() == x.sum())
        #expect(x.norm() == x.norm())
        for axis in [0, 1] { #expect(try x.sum(axis: axis) == x.sum(axis: axis)) }
        #expect(try x.argmaxAlongLastAxis() == x.argmaxAlongLastAxis())
    }
}
