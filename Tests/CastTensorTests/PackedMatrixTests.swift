import Testing
@testable import CastTensor

/// The packed 8-bit weight kernels against float32 sgemm on the same (dequantized) values.
@Suite struct PackedMatrixTests {
    /// A random packed matrix: q anywhere in int8 (with 4 or 5 bits: anywhere in −bias …
    /// 2^bits − 1 − bias, both ends included), positive scales, offsets of either sign.
    /// A random matrix; `offsets: false` leaves the offsets out (all +0, as Q8_0's), with
    /// scales of both signs, so that q·scale is −0 for some q = 0.
    static func random(rows: Int, columns: Int, group: Int, seed: UInt64, bits: Int = 8,
                       bias: Int = 0, offsets stored: Bool = true) throws -> (PackedMatrix, [Int8], [Float], [Float]) {
        var rng = SeededGenerator(seed: seed)
        let matrix = try PackedMatrix(rows: rows, columns: columns, group: group, bits: bits, bias: bias, offsets: stored)
        let groups = columns / group
        var q = [Int8](repeating: 0, count: rows * columns)
        var scales = [Float](repeating: 0, count: rows * groups), offsets = scales
        let range = bits < 8 ? -bias...((1 << bits) - 1 - bias) : -128...127
        for i in q.indices { q[i] = Int8(truncatingIfNeeded: Int.random(in: range, using: &rng)) }
        if bits < 8, q.count >= 2 { q[0] = Int8(range.lowerBound); q[q.count - 1] = Int8(range.upperBound) }
        for i in scales.indices {
            scales[i] = Float.random(in: 0.0005...0.02, using: &rng)
            offsets[i] = Float.random(in: -0.1...0.1, using: &rng)
            if !stored {
                if Bool.random(using: &rng) { scales[i] = -scales[i] }
                offsets[i] = 0
            }
        }
        q.withUnsafeBufferPointer { qp in
            for n in 0..<rows {
                for g in 0..<groups {
                    matrix.setGroup(row: n, group: g, values: qp.baseAddress! + n * columns + g * group,
                                    scale: scales[n * groups + g], offset: offsets[n * groups + g])
                }
            }
        }
        return (matrix, q, scales, offsets)
    }

    static let shapes: [(rows: Int, columns: Int, group: Int)] = [(37, 64, 32), (16, 32, 16), (100, 96, 16), (5, 160, 32)]

    /// Dequantized values are q·scale − offset with one rounding (what ggml computes).
    @Test func dequantizedIsOneFusedMultiplySubtract() throws {
        for (i, s) in Self.shapes.enumerated() {
            let (w, q, scales, offsets) = try Self.random(rows: s.rows, columns: s.columns, group: s.group, seed: UInt64(i))
            let dense = w.dequantized()
            #expect(dense.shape == [s.rows, s.columns])
            let groups = s.columns / s.group
            var mismatches = 0
            for n in 0..<s.rows {
                for k in 0..<s.columns {
                    let g = n * groups + k / s.group
                    let expected = (-offsets[g]).addingProduct(Float(q[n * s.columns + k]), scales[g])
                    if dense.data[n * s.columns + k].bitPattern != expected.bitPattern { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "shape \(s)")
        }
    }

    /// Any row range (panel-aligned or not, whole panels or a few rows, on either kernel)
    /// dequantizes to the same bits as the whole matrix.
    @Test func rowRangesDequantizeToTheSameBits() throws {
        let (w, _, _, _) = try Self.random(rows: 100, columns: 96, group: 16, seed: 14)
        let whole = w.dequantized().scalars
        for range in [0..<100, 5..<40, 16..<48, 33..<34, 90..<100] {
            for portable in [false, true] {
                var part = [Float](repeating: .nan, count: range.count * 96)
                let body = { part.withUnsafeMutableBufferPointer { w.dequantizeRows(range, into: $0.baseAddress!) } }
                if portable { PackedMatrix.withPortableKernel(body) } else { body() }
                #expect(part == Array(whole[(range.lowerBound * 96)..<(range.upperBound * 96)]), "rows \(range), portable \(portable)")
            }
        }
    }

    /// Products agree with sgemm on the dequantized matrix for every row-tile remainder
    /// (1…30 rows) and partial last panel (rows not a multiple of 16); bound 1e-4 on sums
    /// of ≤160 terms of size ~1.
    @Test func multiplyMatchesDenseSgemm() throws {
        for (i, s) in Self.shapes.enumerated() {
            let (w, _, _, _) = try Self.random(rows: s.rows, columns: s.columns, group: s.group, seed: 10 + UInt64(i))
            let dense = w.dequantized()
            for m in [1, 5, 12, 13, 30] {
                let x = Tensor.randomNormal([m, s.columns], seed: UInt64(m))
                let packed = try Linear.forward(x, weight: .packed(w))
                let reference = try Linear.forward(x, weight: dense)
                #expect(packed.shape == [m, s.rows])
                #expect(TestMath.maxAbsDiff(packed, reference) <= 1e-4, "shape \(s), \(m) rows")
            }
        }
    }

    /// A row's result does not depend on the batch around it, the thread count, or the
    /// kernel (AVX-512 or portable): bit for bit.
    @Test func rowResultsAreIndependentOfBatchThreadsAndKernel() throws {
        // 1000 rows: enough panels that two threads split them.
        let (w, _, _, _) = try Self.random(rows: 1000, columns: 96, group: 32, seed: 3)
        let x = Tensor.randomNormal([25, 96], seed: 4)
        let all = try Linear.forward(x, weight: .packed(w))
        for r in [0, 11, 12, 24] {
            let one = try Linear.forward(LayerTestSupport.row(x, r), weight: .packed(w))
            #expect(Array(one.scalars) == Array(all.scalars[(r * 1000)..<((r + 1) * 1000)]), "row \(r)")
        }
        #expect(Parallel.chunkCount(63, grain: (1 << 20) / (25 * 96 * 16)) == min(2, Parallel.threads))
        let single = try Parallel.withThreads(1) { try Linear.forward(x, weight: .packed(w)) }
        #expect(single.scalars == all.scalars)
        let portable = try PackedMatrix.withPortableKernel { try Linear.forward(x, weight: .packed(w)) }
        #expect(portable.scalars == all.scalars)
    }

    /// A one-row product (decode) cut into one chunk per panel, taken by two threads as
    /// they get free, gives the same bits as the product in one piece and on one thread, on
    /// the 8-, 4- and 5-bit layouts and in both arithmetics: each output row is computed
    /// whole by one thread.
    @Test func oneRowProductIsTheSameBitsHoweverSplit() throws {
        for (bits, bias) in [(8, 0), (4, 8), (5, 16)] {
            let (w, _, _, _) = try Self.random(rows: 1000, columns: 96, group: 32, seed: 41, bits: bits, bias: bias)
            let x = Tensor.randomNormal([1, 96], seed: 42)
            for arithmetic in PackedArithmetic.allCases {
                let whole = try PackedMatrix.withDecodeGrain(1 << 30) {
                    try Parallel.withThreads(2) { try Linear.forward(x, weight: .packed(w), arithmetic: arithmetic) }
                }
                let alone = try Parallel.withThreads(1) { try Linear.forward(x, weight: .packed(w), arithmetic: arithmetic) }
                #expect(whole.scalars.map(\.bitPattern) == alone.scalars.map(\.bitPattern), "\(bits) bits \(arithmetic)")
                for grain in [1, 3 * 96 * 16] {
                    for _ in 0..<20 {
                        let split = try PackedMatrix.withDecodeGrain(grain) {
                            try Parallel.withThreads(2) { try Linear.forward(x, weight: .packed(w), arithmetic: arithmetic) }
                        }
                        #expect(split.scalars.map(\.bitPattern) == whole.scalars.map(\.bitPattern),
                                "\(bits) bits \(arithmetic), grain \(grain)")
                    }
                }
            }
        }
    }

    /// `.int8`: each row and group of x is rounded to d·xq (d = max|x|/127, xq = round(x/d),
    /// ties to even); the product must equal Σ d·(scale·Σxq·q − offset·Σxq) computed here in
    /// float64 (bound 1e-4 relative to the output scale), be the same bits on the portable
    /// kernel and for a row alone, and stay within 2% of the exact product.
    @Test func int8ProductsMatchTheirDefinition() throws {
        for (i, s) in Self.shapes.enumerated() {
            let (w, q, scales, offsets) = try Self.random(rows: s.rows, columns: s.columns, group: s.group, seed: 20 + UInt64(i))
            let groups = s.columns / s.group
            for m in [1, 7, 12, 13, 30] {
                let x = Tensor.randomNormal([m, s.columns], seed: 30 + UInt64(m))
                let y = try Linear.forward(x, weight: .packed(w), arithmetic: .int8)
                let exact = try Linear.forward(x, weight: .packed(w))
                var reference = [Double](repeating: 0, count: m * s.rows)
                for r in 0..<m {
                    for g in 0..<groups {
                        let xs = (0..<s.group).map { x.data[r * s.columns + g * s.group + $0] }
                        let d = (xs.map(abs).max() ?? 0) / 127
                        let inverse: Float = d != 0 ? 1 / d : 0
                        let xq = xs.map { ($0 * inverse).rounded(.toNearestOrEven) }
                        let xqSum = Double(xq.reduce(0, +))
                        for n in 0..<s.rows {
                            var dot = 0.0
                            for k in 0..<s.group { dot += Double(xq[k]) * Double(q[n * s.columns + g * s.group + k]) }
                            let sg = n * groups + g
                            reference[r * s.rows + n] += Double(d) * (Double(scales[sg]) * dot - Double(offsets[sg]) * xqSum)
                        }
                    }
                }
                let size = max(1, reference.map(abs).max()!)
                let worst = zip(y.scalars, reference).map { abs(Double($0) - $1) }.max()!
                #expect(worst <= 1e-4 * size, "shape \(s), \(m) rows: \(worst)")
                #expect(TestMath.maxAbsDiff(y, exact) <= 0.02 * Float(size), "shape \(s), \(m) rows: int8 vs exact")
                let portable = try PackedMatrix.withPortableKernel { try Linear.forward(x, weight: .packed(w), arithmetic: .int8) }
                #expect(portable.scalars == y.scalars, "shape \(s), \(m) rows: portable kernel")
                if m > 1 {
                    let last = try Linear.forward(LayerTestSupport.row(x, m - 1), weight: .packed(w), arithmetic: .int8)
                    #expect(last.scalars == Array(y.scalars[((m - 1) * s.rows)...]), "shape \(s): a row alone")
                }
            }
        }
    }

    /// Bias and leading dimensions behave as for a float32 weight.
    @Test func biasAndLeadingDimensions() throws {
        let (w, _, _, _) = try Self.random(rows: 20, columns: 64, group: 16, seed: 5)
        let x = Tensor.randomNormal([2, 3, 64], seed: 6), b = Tensor.randomNormal([20], seed: 7)
        let packed = try Linear.forward(x, weight: .packed(w), bias: b)
        let reference = try Linear.forward(x, weight: w.dequantized(), bias: b)
        #expect(packed.shape == [2, 3, 20])
        #expect(TestMath.maxAbsDiff(packed, reference) <= 1e-4)
    }

    /// Backward through a packed weight: dx (slab-by-slab sgemm, slabs smaller than the
    /// matrix here) and dWeight/dBias equal the float32 path's.
    @Test func backwardMatchesDense() throws {
        let (w, _, _, _) = try Self.random(rows: 300, columns: 4096, group: 32, seed: 8)
        let x = Tensor.randomNormal([7, 4096], seed: 9), dy = Tensor.randomNormal([7, 300], seed: 10)
        var dx: Tensor? = Tensor.randomNormal([7, 4096], seed: 11), dW: Tensor? = Tensor(zeros: [300, 4096])
        var db: Tensor? = Tensor(zeros: [300])
        var dxRef = dx, dWRef = dW, dbRef = db
        try Linear.backward(dy: dy, x: x, weight: .packed(w), dx: &dx, dWeight: &dW, dBias: &db)
        try Linear.backward(dy: dy, x: x, weight: w.dequantized(), dx: &dxRef, dWeight: &dWRef, dBias: &dbRef)
        #expect(TestMath.maxAbsDiff(dx!, dxRef!) <= 1e-4)
        #expect(dW!.scalars == dWRef!.scalars)
        #expect(db!.scalars == dbRef!.scalars)
    }

    /// Embedding rows from a packed table are its dequantized rows, exactly.
    @Test func embeddingGathersDequantizedRows() throws {
        let (w, _, _, _) = try Self.random(rows: 50, columns: 32, group: 16, seed: 12)
        let ids: [Int32] = [3, 49, 0, 3, 17]
        let packed = try { var out = Tensor(); try Embedding.forward(ids: ids, idsShape: [5], table: .packed(w), into: &out); return out }()
        let dense = try Embedding.forward(ids: ids, table: w.dequantized())
        #expect(packed.shape == [5, 32])
        #expect(packed.scalars == dense.scalars)
        #expect(LayerTestSupport.throwsNaming(["token id 50", "position 1"]) {
            var out = Tensor()
            try Embedding.forward(ids: [1, 50], table: .packed(w), into: &out)
        })
    }

    /// q in 4 or 5 bits: 0.75 or 0.875 bytes a weight with groups of 32 (1.25 with int8),
    /// chosen from the q range; the same values and products as the int8 layout, bit for bit.
    @Test func fewerBitLayoutsAreSmallerAndTheSame() throws {
        for (bits, bias, range) in [(4, 0, 0...15), (4, 8, -8...7), (4, 3, -3...12), (5, 16, -16...15), (5, 0, 0...31), (5, 7, -7...20)] {
            let (small, q, scales, offsets) = try Self.random(rows: 37, columns: 96, group: 32, seed: 31, bits: bits, bias: bias)
            #expect(small.bits == bits && small.bias == bias)
            let large = try PackedMatrix(rows: 37, columns: 96, group: 32)
            q.withUnsafeBufferPointer { qp in
                for n in 0..<37 {
                    for g in 0..<3 {
                        large.setGroup(row: n, group: g, values: qp.baseAddress! + n * 96 + g * 32,
                                       scale: scales[n * 3 + g], offset: offsets[n * 3 + g])
                    }
                }
            }
            #expect(small.byteCount == 3 * 3 * (bits * 64 + 128) && large.byteCount == 3 * 3 * (512 + 128))
            #expect(small.dequantized().scalars.map(\.bitPattern) == large.dequantized().scalars.map(\.bitPattern))
            let x = Tensor.randomNormal([3, 96], seed: 32)
            for arithmetic in PackedArithmetic.allCases {
                let a = try Linear.forward(x, weight: .packed(small), arithmetic: arithmetic)
                let b = try Linear.forward(x, weight: .packed(large), arithmetic: arithmetic)
                #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "\(bits) bits, bias \(bias) \(arithmetic)")
            }
            let chosen = try PackedMatrix(rows: 4, columns: 32, group: 32, qRange: range)
            #expect(chosen.bits == (PackedMatrix.nibblesAllowed ? bits : 8))
        }
        for range in [-32...31, 0...32, -128...127, (-33)...(-2)] {
            #expect(try PackedMatrix(rows: 4, columns: 32, group: 32, qRange: range).bits == 8, "\(range)")
        }
        // 5 bits need groups of 32 (a group of 16 would leave the next one unaligned).
        #expect(try PackedMatrix(rows: 4, columns: 32, group: 16, qRange: -16...15).bits == 8)
        #expect(LayerTestSupport.throwsNaming(["4 bits", "16"]) {
            _ = try PackedMatrix(rows: 4, columns: 32, group: 32, bits: 4, bias: 16)
        })
        #expect(LayerTestSupport.throwsNaming(["5 bits", "group 16"]) {
            _ = try PackedMatrix(rows: 4, columns: 32, group: 16, bits: 5, bias: 0)
        })
    }

    /// All-zero offsets left out (Q8_0, Q6_K, Q4_0, Q5_0): 64 bytes a group fewer (1.125,
    /// 0.625 and 0.75 bytes a weight with groups of 32), and on every kernel path the same
    /// values and products, bit for bit, as the same matrix storing its +0 offsets, in every
    /// q layout, including q·scale = −0 (negative scales).
    @Test func omittedOffsetsAreSmallerAndTheSame() throws {
        for (bits, bias, group) in [(8, 0, 32), (8, 0, 16), (4, 8, 32), (4, 8, 16), (5, 16, 32)] {
            let (lean, q, scales, offsets) = try Self.random(rows: 37, columns: 96, group: group, seed: 41, bits: bits,
                                                             bias: bias, offsets: false)
            let groups = 96 / group
            let full = try PackedMatrix(rows: 37, columns: 96, group: group, bits: bits, bias: bias)
            q.withUnsafeBufferPointer { qp in
                for n in 0..<37 {
                    for g in 0..<groups {
                        full.setGroup(row: n, group: g, values: qp.baseAddress! + n * 96 + g * group,
                                      scale: scales[n * groups + g], offset: offsets[n * groups + g])
                    }
                }
            }
            #expect(!lean.offsets && full.offsets)
            let qBytes = group * 16 * bits / 8
            #expect(lean.byteCount == 3 * groups * (qBytes + 64) && full.byteCount == 3 * groups * (qBytes + 128))
            #expect(lean.byteCount == PackedMatrix.byteCount(rows: 37, columns: 96, group: group, bits: bits, offsets: false))
            let x = Tensor.randomNormal([13, 96], seed: 42)
            for kernel in PackedKernel.allCases where kernel <= PackedKernel.supported {
                var a = [Float](repeating: 0, count: 37 * 96), b = a
                lean.dequantizeRows(0..<37, into: &a, kernel: kernel)
                full.dequantizeRows(0..<37, into: &b, kernel: kernel)
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(kernel) \(bits) bits, group \(group): dequantized")
                #expect(a.contains { $0 == 0 && $0.sign == .minus }, "no −0 weight to check")
                for arithmetic in PackedArithmetic.allCases {
                    for m in [1, 13] {
                        var ya = [Float](repeating: 0.5, count: m * 37), yb = ya
                        x.scalars.withUnsafeBufferPointer { xp in
                            lean.multiply(xp.baseAddress!, ldx: 96, rows: m, into: &ya, ldy: 37, accumulate: true,
                                          arithmetic: arithmetic, kernel: kernel)
                            full.multiply(xp.baseAddress!, ldx: 96, rows: m, into: &yb, ldy: 37, accumulate: true,
                                          arithmetic: arithmetic, kernel: kernel)
                        }
                        #expect(ya.map(\.bitPattern) == yb.map(\.bitPattern),
                                "\(kernel) \(arithmetic) \(bits) bits, group \(group), \(m) rows")
                    }
                }
            }
        }
        // Formats with a minimum keep their offsets (the layout falls back to storing them).
        let kept = try PackedMatrix(rows: 4, columns: 32, group: 32, qRange: 0...15)
        #expect(kept.offsets)
        #expect(try PackedMatrix(rows: 4, columns: 32, group: 32, qRange: -8...7, offsets: false).offsets
                == !PackedMatrix.offsetsOmittable)
    }

    @Test func badShapesAreClearErrors() throws {
        #expect(LayerTestSupport.throwsNaming(["group size must be 16 or 32", "24"]) {
            _ = try PackedMatrix(rows: 4, columns: 48, group: 24)
        })
        #expect(LayerTestSupport.throwsNaming(["[4, 40]", "multiple of 32"]) {
            _ = try PackedMatrix(rows: 4, columns: 40, group: 32)
        })
        let (w, _, _, _) = try Self.random(rows: 8, columns: 32, group: 32, seed: 13)
        #expect(LayerTestSupport.throwsNaming(["Linear", "in-features"]) {
            _ = try Linear.forward(Tensor(zeros: [2, 31]), weight: .packed(w))
        })
    }
}

enum TestMath {
    static func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.count == b.count)
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }
}
