import Testing
@testable import CastTensor

@Suite struct ShapeOpsTests {
    /// Output element at `index` of `permuted(axes)` is the input element at the index with
    /// `index[i]` placed on axis `axes[i]`.
    static func naivePermute(_ x: Tensor, _ axes: [Int]) -> (shape: [Int], values: [Float]) {
        let outShape = axes.map { x.shape[$0] }
        let values = (0..<x.count).map { i -> Float in
            let index = Naive.multiIndex(i, outShape)
            var source = [Int](repeating: 0, count: axes.count)
            for (k, a) in axes.enumerated() { source[a] = index[k] }
            return x.data[Naive.flatIndex(source, x.shape)]
        }
        return (outShape, values)
    }

    /// Shapes straddle the 16×16 tile edges and include a batch.
    @Test func transposedMatchesNaive() throws {
        for shape in [[5, 7], [1, 9], [3, 33, 65], [2, 64, 32], [0, 4]] {
            let x = Tensor.randomNormal(shape, seed: UInt64(shape.reduce(1, *)))
            let t = try x.transposed()
            let ref = Self.naivePermute(x, Array(0..<(shape.count - 2)) + [shape.count - 1, shape.count - 2])
            #expect(t.shape == ref.shape)
            #expect(t.scalars == ref.values, "\(shape)")
        }
        #expect { _ = try Tensor(zeros: [4]).transposed() } throws: { errorNames($0, "[4]") }
    }

    @Test func permutedMatchesNaive() throws {
        let x3 = Tensor.randomNormal([2, 3, 4], seed: 1)
        for axes in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            let ref = Self.naivePermute(x3, axes)
            let p = try x3.permuted(axes)
            #expect(p.shape == ref.shape && p.scalars == ref.values, "\(axes)")
            #expect(try p.permuted(Tensor.inversePermutation(axes)) == x3)
        }
        // Attention-style [B, T, H, D] → [B, H, T, D], a full reversal, size-1 axes, and a
        // size large enough for the parallel path.
        for (shape, axes) in [([2, 5, 3, 8], [0, 2, 1, 3]), ([2, 3, 4, 5], [3, 2, 1, 0]),
                              ([2, 1, 3, 1], [3, 2, 0, 1]), ([64, 40, 4, 16], [0, 2, 1, 3]),
                              ([2, 3, 4], [-1, 0, 1])] {
            let x = Tensor.randomNormal(shape, seed: 2)
            let ref = Self.naivePermute(x, axes.map { $0 < 0 ? $0 + shape.count : $0 })
            let p = try x.permuted(axes)
            #expect(p.shape == ref.shape && p.scalars == ref.values, "\(shape) \(axes)")
        }
    }

    @Test func badPermutationThrowsNamingShape() {
        let x = Tensor(zeros: [2, 3, 4])
        #expect { _ = try x.permuted([0, 1]) } throws: { errorNames($0, "[0, 1]", "[2, 3, 4]") }
        #expect { _ = try x.permuted([0, 1, 1]) } throws: { errorNames($0, "[0, 1, 1]", "[2, 3, 4]") }
        #expect { _ = try x.permuted([0, 1, 3]) } throws: { errorNames($0, "[0, 1, 3]", "[2, 3, 4]") }
        #expect { _ = try Tensor.inversePermutation([0, 2]) } throws: { errorNames($0, "[0, 2]") }
    }

    @Test func slicedMatchesNaive() throws {
        let shape = [4, 5, 6]
        let x = Tensor.randomNormal(shape, seed: 3)
        for axis in 0..<3 {
            for range in [0..<1, 1..<3, 0..<shape[axis], 2..<2] {
                let s = try x.sliced(axis: axis, range)
                var outShape = shape
                outShape[axis] = range.count
                let ref = (0..<outShape.reduce(1, *)).map { i -> Float in
                    var index = Naive.multiIndex(i, outShape)
                    index[axis] += range.lowerBound
                    return x.data[Naive.flatIndex(index, shape)]
                }
                #expect(s.shape == outShape && s.scalars == ref, "axis \(axis) \(range)")
            }
        }
        #expect(try x.sliced(axis: -1, 1..<3) == x.sliced(axis: 2, 1..<3))
        #expect(try x.rows(1..<3) == x.sliced(axis: 0, 1..<3))
        #expect(try x.row(2).shape == [5, 6])
        #expect(try x.row(2).scalars == Array(x.scalars[60..<90]))
    }

    @Test func badSlicesThrowNamingShape() {
        let x = Tensor(zeros: [4, 5])
        #expect { _ = try x.sliced(axis: 1, 3..<6) } throws: { errorNames($0, "3..<6", "[4, 5]") }
        #expect { _ = try x.sliced(axis: 2, 0..<1) } throws: { errorNames($0, "axis 2", "[4, 5]") }
        #expect { _ = try x.row(4) } throws: { errorNames($0, "row 4", "[4, 5]") }
    }

    @Test func concatenatedMatchesNaive() throws {
        let a = Tensor.randomNormal([2, 3, 4], seed: 4)
        for axis in [0, 1, 2, -1] {
            let ax = axis < 0 ? axis + 3 : axis
            var bShape = [2, 3, 4]
            bShape[ax] = 5
            let b = Tensor.randomNormal(bShape, seed: 5)
            let c = try Tensor.concatenated([a, b], axis: axis)
            var outShape = [2, 3, 4]
            outShape[ax] += 5
            let ref = (0..<c.count).map { i -> Float in
                var index = Naive.multiIndex(i, outShape)
                if index[ax] < a.shape[ax] { return a.data[Naive.flatIndex(index, a.shape)] }
                index[ax] -= a.shape[ax]
                return b.data[Naive.flatIndex(index, b.shape)]
            }
            #expect(c.shape == outShape && c.scalars == ref, "axis \(axis)")
            #expect(try c.sliced(axis: axis, 0..<a.shape[ax]) == a)
        }
        let big = Tensor.randomNormal([3000, 20], seed: 6)
        #expect(try Tensor.concatenated([big.rows(0..<1000), big.rows(1000..<3000)], axis: 0) == big)
        #expect(try Tensor.concatenated([big.sliced(axis: 1, 0..<7), big.sliced(axis: 1, 7..<20)], axis: 1) == big)
    }

    @Test func badConcatenationThrowsNamingBothShapes() {
        let a = Tensor(zeros: [2, 3]), b = Tensor(zeros: [4, 5]), c = Tensor(zeros: [2, 3, 1])
        #expect { _ = try Tensor.concatenated([a, b], axis: 0) } throws: { errorNames($0, "[2, 3]", "[4, 5]") }
        #expect { _ = try Tensor.concatenated([a, c], axis: 0) } throws: { errorNames($0, "[2, 3]", "[2, 3, 1]") }
        #expect { _ = try Tensor.concatenated([], axis: 0) } throws: { $0 is TensorError }
    }

    @Test func gatherRowsMatchesNaive() throws {
        let table = Tensor.randomNormal([10, 2, 3], seed: 7)
        let indices: [Int32] = [3, 0, 9, 3, 3]
        let g = try table.gatheringRows(indices)
        #expect(g.shape == [5, 2, 3])
        for (i, row) in indices.enumerated() {
            #expect(Array(g.scalars[(i * 6)..<(i * 6 + 6)]) == Array(table.scalars[(Int(row) * 6)..<(Int(row) * 6 + 6)]))
        }
        #expect { _ = try table.gatheringRows([1, 10]) } throws: { errorNames($0, "10", "[10, 2, 3]") }
        #expect { _ = try table.gatheringRows([-1]) } throws: { errorNames($0, "-1", "[10, 2, 3]") }
    }

    /// Bound: relative error ≤ 1e-2 (h = 1e-2; the lookup is linear in the table). Repeated
    /// indices check that their gradients add up.
    @Test func gatherRowsGradientCheck() throws {
        let indices: [Int32] = [3, 0, 5, 3, 3, 1]
        let result = try GradCheck.check(inputs: [Tensor.randomNormal([6, 4], seed: 8)], forward: { xs in
            try xs[0].gatheringRows(indices)
        }, backward: { dy, xs in
            var dTable: Tensor? = Tensor(zeros: xs[0].shape)
            try GatherRows.backward(dy: dy, indices: indices, dTable: &dTable)
            return [dTable!]
        })
        #expect(result.maxError < 1e-2, "\(result.worst)")
        var wrong: Tensor? = Tensor(zeros: [6, 4])
        #expect {
            try GatherRows.backward(dy: Tensor(zeros: [5, 4]), indices: indices, dTable: &wrong)
        } throws: { errorNames($0, "[5, 4]", "[6, 4]") }
    }

    /// The `into:` forms give the same results and keep a large-enough, uniquely owned buffer.
    @Test func intoVariantsReuseStorage() throws {
        let x = Tensor.randomNormal([3, 4, 5], seed: 12)
        var out = Tensor(zeros: [200])
        let buffer = out.data
        try Tensor.transpose(x, into: &out)
        #expect(out == (try x.transposed()) && out.data == buffer)
        try Tensor.permute(x, [2, 0, 1], into: &out)
        #expect(out == (try x.permuted([2, 0, 1])) && out.data == buffer)
        try Tensor.slice(x, axis: 1, 1..<3, into: &out)
        #expect(out == (try x.sliced(axis: 1, 1..<3)) && out.data == buffer)
        try Tensor.concatenate([x, x], axis: 2, into: &out)
        #expect(out == (try Tensor.concatenated([x, x], axis: 2)) && out.data == buffer)
        try GatherRows.forward(table: x, indices: [2, 2, 0], into: &out)
        #expect(out == (try x.gatheringRows([2, 2, 0])) && out.data == buffer)
    }

    /// Same inputs twice, on sizes that take the parallel paths → bit-identical results.
    @Test func deterministic() throws {
        let x = Tensor.randomNormal([64, 40, 4, 16], seed: 9)
        #expect(try x.permuted([0, 2, 1, 3]) == x.permuted([0, 2, 1, 3]))
        #expect(try x.transposed() == x.transposed())
        let indices = (0..<3000).map { Int32($0 * 7 % 64) }
        let table = Tensor.randomNormal([64, 300], seed: 10)
        #expect(try table.gatheringRows(indices) == table.gatheringRows(indices))
        let dy = Tensor.randomNormal([3000, 300], seed: 11)
        func grad() throws -> Tensor {
            var d: Tensor? = Tensor(zeros: table.shape)
            try GatherRows.backward(dy: dy, indices: indices, dTable: &d)
            return d!
        }
        #expect(try grad() == grad())
    }
}
