import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastAnalysis
@testable import CastModels

/// Linear CKA from streamed statistics (cross-covariances in double, no rows kept) against
/// the row-based definition, numpy, and itself across memory budgets.
@Suite struct StatisticsCKATests {
    /// ⟨HKH, HLH⟩ / (‖HKH‖·‖HLH‖) from the `[n, n]` grams, all in double: the row-based
    /// definition the statistics must reproduce.
    static func gramCKA(_ x: Tensor, _ y: Tensor) -> Double {
        func centredGram(_ t: Tensor) -> [Double] {
            let n = t.shape[0], d = t.shape[1]
            var mean = [Double](repeating: 0, count: d)
            for r in 0..<n { for j in 0..<d { mean[j] += Double(t.data[r * d + j]) / Double(n) } }
            var g = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                for k in 0..<n {
                    var s = 0.0
                    for j in 0..<d { s += (Double(t.data[i * d + j]) - mean[j]) * (Double(t.data[k * d + j]) - mean[j]) }
                    g[i * n + k] = s
                }
            }
            return g
        }
        let k = centredGram(x), l = centredGram(y)
        var kl = 0.0, kk = 0.0, ll = 0.0
        for i in k.indices { kl += k[i] * l[i]; kk += k[i] * k[i]; ll += l[i] * l[i] }
        return kl / (kk.squareRoot() * ll.squareRoot())
    }

    static func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }

    /// Equal to the row-based linear CKA in double (≤ 1e-9 relative), and to the float32
    /// grams `CKA.similarity` keeps (≤ 1e-5), with a large common offset in the rows.
    @Test func statisticsEqualRowBasedCKA() throws {
        let x = Matrices.scaled(Matrices.spread(300, 12, seed: 3), by: 1, plus: 500)
        let y = Matrices.product(x, Matrices.orthogonal(12, seed: 4))
        let z = Matrices.spread(300, 20, seed: 5)
        for (a, b) in [(x, y), (x, z), (z, x), (z, z)] {
            let ours = try StatisticsCKA.similarity(a, b)
            #expect(Self.relative(ours, Self.gramCKA(a, b)) <= 1e-9, "statistics \(ours) vs grams in double \(Self.gramCKA(a, b))")
            #expect(Self.relative(ours, try CKA.similarity(a, b)) <= 1e-5)
        }
        #expect(abs(try StatisticsCKA.similarity(x, y) - 1) <= 1e-6)  // orthogonal map
    }

    /// Rows fed in chunks, and pairs split over many passes by a small memory budget, give
    /// the same matrix as one pass.
    @Test func blocksOfPairsGiveTheSameMatrix() throws {
        let xs = (0..<4).map { Matrices.spread(200, 8 + 4 * $0, seed: UInt64(10 + $0)) }
        let pass: StatisticsCKA.Pass = { rows, _, body in
            for start in stride(from: 0, to: 200, by: 64) {
                var chunk: [Int: Tensor] = [:]
                for i in rows {
                    let d = xs[i].shape[1], n = min(64, 200 - start)
                    chunk[i] = try Tensor(Array(UnsafeBufferPointer(start: xs[i].data + start * d, count: n * d)), shape: [n, d])
                }
                try body((rows: chunk, columns: [:]))
            }
        }
        let widths = xs.map { $0.shape[1] }
        let whole = try StatisticsCKA.matrix(rowWidths: widths, columnWidths: [], symmetric: true, memoryBudget: Int.max, pass: pass)
        let small = try StatisticsCKA.matrix(rowWidths: widths, columnWidths: [], symmetric: true,
                                             memoryBudget: CrossCovarianceAccumulator.bytes(widthX: 20, widthY: 20), pass: pass)
        #expect(whole.passes == 1 && small.passes > 3)
        #expect(whole.tokens == 200 && small.tokens == 200)
        for i in 0..<4 {
            for j in 0..<4 {
                #expect(abs(small.cka[i][j] - whole.cka[i][j]) <= 1e-12)
                #expect(Self.relative(whole.cka[i][j], Self.gramCKA(xs[i], xs[j])) <= 1e-9)
            }
        }
        // A budget smaller than one pair says how much one pair needs.
        #expect(throws: AnalysisError.self) {
            try StatisticsCKA.matrix(rowWidths: widths, columnWidths: [], symmetric: true, memoryBudget: 1000, pass: pass)
        }
    }

    /// The formula matrices numpy's linear CKA was recorded on (scripts/record_analysis_reference.py).
    @Test func formulaMatricesAgreeWithNumpy() throws {
        let reference = try AnalysisReference.load()
        let xs = [Matrices.formula(64, 12), Matrices.formula(64, 20, phase: 0.5)]
        let expected = try #require(reference.formula.cka["linear"])
        for i in 0..<2 {
            for j in 0..<2 {
                let ours = try StatisticsCKA.similarity(xs[i], xs[j])
                #expect(Self.relative(ours, expected[i][j]) <= 1e-8, "CKA[\(i), \(j)]: \(ours) vs numpy \(expected[i][j])")
            }
        }
    }

    /// smollm2-135m streamed pass by pass (no rows kept, several passes for the pairs) agrees with
    /// numpy's linear CKA of the same activations, and with the row-based matrix.
    @Test func streamedModelPassesAgreeWithNumpy() throws {
        let reference = try AnalysisReference.load().smollm2
        let model = try TestModels.model("smollm2-135m")
        let points = try reference.points.map { try #require(ActivationPoint(parsing: $0)) }
        let sequences = try CaptureInputs.texts([reference.text], tokenizer: #require(model.tokenizer))
        let options = CaptureOptions(keepRows: false, positions: .from(1), batchRows: 16)
        let widths = [Int](repeating: model.config.hiddenSize, count: points.count)
        let result = try StatisticsCKA.matrix(rowWidths: widths, columnWidths: [], symmetric: true,
                                              memoryBudget: 4 * CovarianceAccumulator.bytes(width: model.config.hiddenSize),
                                              pass: StatisticsCKA.passes(model, sequences: sequences, points: points, options: options))
        #expect(result.tokens == reference.tokens)
        #expect(result.passes > 1)
        let expected = try #require(reference.cka["linear"])
        for i in points.indices {
            for j in points.indices {
                #expect(Self.relative(result.cka[i][j], expected[i][j]) <= 1e-6, "CKA[\(i), \(j)]: \(result.cka[i][j]) vs numpy \(expected[i][j])")
            }
        }
    }
}
