import Testing
@testable import CastTensor

@Suite struct EmbeddingTests {
    let table = Tensor.randomNormal([7, 5], seed: 11)
    let ids: [Int32] = [3, 0, 6, 3, 1, 3]

    @Test func forwardCopiesRowsWithLeadingShape() throws {
        let out = try Embedding.forward(ids: ids, idsShape: [2, 3], table: table)
        #expect(out.shape == [2, 3, 5])
        var ref = [Double]()
        for id in ids { for c in 0..<5 { ref.append(Double(table.data[Int(id) * 5 + c])) } }
        #expect(Reference.maxAbsDiff(out, ref) == 0)
        #expect(try Embedding.forward(ids: ids, table: table).shape == [6, 5])
    }

    /// Repeated ids sum their rows of dy: checked element by element in Double.
    @Test func backwardScatterAddsRepeatedIds() throws {
        let dy = Tensor.randomNormal([2, 3, 5], seed: 12)
        var dTable: Tensor? = Tensor(zeros: [7, 5])
        try Embedding.backward(dy: dy, ids: ids, dTable: &dTable)
        var ref = [Double](repeating: 0, count: 35)
        for (p, id) in ids.enumerated() { for c in 0..<5 { ref[Int(id) * 5 + c] += Double(dy.data[p * 5 + c]) } }
        #expect(Reference.maxAbsDiff(dTable!, ref) < 1e-6)
    }

    /// Bound: relative error ≤ 1e-4 (measured 1.5e-6; the op is linear in the table, so the
    /// central difference is exact up to float rounding).
    @Test func gradientCheck() throws {
        let result = try GradCheck.check(inputs: [table], forward: { xs in
            try Embedding.forward(ids: ids, idsShape: [2, 3], table: xs[0])
        }, backward: { dy, xs in
            var dTable: Tensor? = Tensor(zeros: xs[0].shape)
            try Embedding.backward(dy: dy, ids: ids, dTable: &dTable)
            return [dTable!]
        })
        #expect(result.maxError < 1e-4, "\(result.worst)")
    }

    @Test func backwardAccumulatesAndIsReproducible() throws {
        let dy = Tensor.randomNormal([6, 5], seed: 13)
        var once: Tensor? = Tensor(zeros: [7, 5]), twice: Tensor? = Tensor(zeros: [7, 5])
        try Embedding.backward(dy: dy, ids: ids, dTable: &once)
        try Embedding.backward(dy: dy, ids: ids, dTable: &twice)
        try Embedding.backward(dy: dy, ids: ids, dTable: &twice)
        #expect(LayerTestSupport.isDouble(twice!, of: once!))
        var again: Tensor? = Tensor(zeros: [7, 5])
        try Embedding.backward(dy: dy, ids: ids, dTable: &again)
        #expect(again! == once!)
        var frozen: Tensor? = nil
        try Embedding.backward(dy: dy, ids: ids, dTable: &frozen)
        #expect(frozen == nil)
    }

    /// Many positions and a wide table, so the column split runs on several threads.
    @Test func largeLookupIsBitIdenticalAcrossRuns() throws {
        let big = Tensor.randomNormal([50, 300], seed: 14)
        var rng = SeededGenerator(seed: 15)
        let many = (0..<2000).map { _ in Int32(rng.next() % 50) }
        let a = try Embedding.forward(ids: many, table: big), b = try Embedding.forward(ids: many, table: big)
        #expect(a == b)
        let dy = Tensor.randomNormal([2000, 300], seed: 16)
        var g1: Tensor? = Tensor(zeros: [50, 300]), g2: Tensor? = Tensor(zeros: [50, 300])
        try Embedding.backward(dy: dy, ids: many, dTable: &g1)
        try Embedding.backward(dy: dy, ids: many, dTable: &g2)
        #expect(g1! == g2!)
    }

    @Test func outOfRangeIdsThrowNamingIdAndVocab() {
        #expect(LayerTestSupport.throwsNaming(["70000", "7"]) {
            _ = try Embedding.forward(ids: [1, 70000], table: table)
        })
        #expect(LayerTestSupport.throwsNaming(["-2", "7"]) {
            _ = try Embedding.forward(ids: [-2], table: table)
        })
        #expect(LayerTestSupport.throwsNaming(["9", "7"]) {
            var dTable: Tensor? = Tensor(zeros: [7, 5])
            try Embedding.backward(dy: Tensor(zeros: [1, 5]), ids: [9], dTable: &dTable)
        })
    }

    @Test func shapeErrorsNameBothShapes() {
        #expect(LayerTestSupport.throwsNaming(["[2, 5]", "[7, 5]"]) {
            var dTable: Tensor? = Tensor(zeros: [7, 5])
            try Embedding.backward(dy: Tensor(zeros: [2, 5]), ids: ids, dTable: &dTable)
        })
        #expect(LayerTestSupport.throwsNaming(["6", "[4]"]) {
            _ = try Embedding.forward(ids: ids, idsShape: [4], table: table)
        })
        #expect(LayerTestSupport.throwsNaming(["[35]"]) {
            _ = try Embedding.forward(ids: ids, table: Tensor(zeros: [35]))
        })
    }
}
