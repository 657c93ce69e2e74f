import Testing
@testable import CastTensor

@Suite struct MatmulTests {
    /// op(a)·op(b) for every transpose pairing, batched with a shared right operand and with
    /// per-batch operands, including one-row products (the matrix-vector path) against a
    /// double-precision loop. Bound 1e-4 absolute on O(1) entries.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matchesDoubleLoop(_ transposes: (Bool, Bool)) throws {
        let (ta, tb) = transposes
        for (batch, m, k, n) in [(1, 1, 37, 19), (3, 1, 16, 5), (2, 7, 33, 12), (1, 64, 70, 65)] {
            for sharedB in [true, false] {
                let a = Tensor.randomNormal([batch] + (ta ? [k, m] : [m, k]), seed: 1)
                let bShape = tb ? [n, k] : [k, n]
                let b = Tensor.randomNormal(sharedB ? bShape : [batch] + bShape, seed: 2)
                let c = try Tensor.matmul(a, b, transposeA: ta, transposeB: tb, alpha: 0.5)
                #expect(c.shape == [batch, m, n])
                var reference = [Double]()
                for p in 0..<batch {
                    let ap = a.data + p * m * k, bp = b.data + (sharedB ? 0 : p * n * k)
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0
                            for l in 0..<k {
                                let x = ta ? ap[l * m + i] : ap[i * k + l]
                                let y = tb ? bp[j * k + l] : bp[l * n + j]
                                s += Double(x) * Double(y)
                            }
                            reference.append(0.5 * s)
                        }
                    }
                }
                #expect(Reference.maxAbsDiff(c, reference) < 1e-4, "batch \(batch) m \(m) k \(k) n \(n) shared \(sharedB)")
            }
        }
    }

    /// `accumulate` adds to what the output holds, for many rows and for one row.
    @Test func accumulateAdds() throws {
        for m in [1, 9] {
            let a = Tensor.randomNormal([m, 20], seed: 3), b = Tensor.randomNormal([11, 20], seed: 4)
            let once = try Tensor.matmul(a, b, transposeB: true)
            var c = once
            try Tensor.matmul(a, b, transposeB: true, accumulate: true, into: &c)
            for i in 0..<c.count { #expect(abs(c.data[i] - 2 * once.data[i]) < 1e-5) }
        }
    }

    /// A one-row product taken from inside larger matrices (leading dimensions wider than the
    /// product), as the attention kernels call it: op(A)'s row is strided when A is transposed.
    @Test func oneRowWithLeadingDimensions() {
        let k = 13, n = 6, lda = 4, ldb = 15, ldc = 8
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = Tensor.randomNormal([k * lda], seed: 5), b = Tensor.randomNormal([max(k, n) * ldb], seed: 6)
            var c = Tensor(repeating: 1, shape: [ldc])
            BLAS.sgemm(transposeA: ta, transposeB: tb, m: 1, n: n, k: k, a: a.data + 1, lda: ta ? lda : k,
                       b: b.data, ldb: ldb, beta: 0.5, c: c.mutableData, ldc: ldc)
            for j in 0..<n {
                var s = 0.5
                for l in 0..<k {
                    let x = ta ? a.data[1 + l * lda] : a.data[1 + l]
                    let y = tb ? b.data[j * ldb + l] : b.data[l * ldb + j]
                    s += Double(x) * Double(y)
                }
                #expect(abs(Double(c.data[j]) - s) < 1e-4, "transposeA \(ta) transposeB \(tb) column \(j)")
            }
            for j in n..<ldc { #expect(c.data[j] == 1, "wrote past the row") }
        }
    }

    @Test func mismatchedShapesThrowNamingBoth() {
        #expect {
            _ = try Tensor.matmul(Tensor(zeros: [3, 5]), Tensor(zeros: [4, 6]))
        } throws: { "\($0)".contains("[3, 5]") && "\($0)".contains("[4, 6]") }
        #expect {
            _ = try Tensor.matmul(Tensor(zeros: [2, 3, 5]), Tensor(zeros: [4, 5, 6]))
        } throws: { "\($0)".contains("[2, 3, 5]") && "\($0)".contains("[4, 5, 6]") }
    }
}
