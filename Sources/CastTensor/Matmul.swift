import CBLAS

/// Thin, typed wrapper over `cblas_sgemm` for row-major matrices.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, with leading dimensions.
    @inlinable
    public static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {  // BLAS leaves C untouched when k == 0 only if beta == 1; be explicit
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        if m == 1 {
            // One row (a decoding step): a matrix-vector product streams B once, where
            // OpenBLAS 0.3.21's sgemm first packs a copy of it (3–4× slower on model weights).
            // op(A)'s single row is strided by lda when A is transposed.
            let (rows, columns) = transposeB ? (n, k) : (k, n)
            cblas_sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(rows), Int32(columns),
                        alpha, b, Int32(ldb), a, Int32(transposeA ? lda : 1), beta, c, 1)
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}

extension Tensor {
    /// Matrix product of the last two dimensions, batched over leading ones.
    ///
    /// `a` is `[..., M, K]` (or `[..., K, M]` with `transposeA`), `b` is `[..., K, N]`
    /// (or `[..., N, K]` with `transposeB`). Either may be 2-D and is then shared by every
    /// batch entry; otherwise the leading dimensions must be equal.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                              transposeB: Bool = false, alpha: Float = 1) throws -> Tensor {
        var c = Tensor(zeros: [])
        try matmul(a, b, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                   accumulate: false, into: &c)
        return c
    }

    /// `c = alpha·op(a)·op(b)` or, with `accumulate`, `c += alpha·op(a)·op(b)`.
    /// Without `accumulate`, `c` is resized (its storage reused when possible).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                              transposeB: Bool = false, alpha: Float = 1,
                              accumulate: Bool, into c: inout Tensor) throws {
        guard a.rank >= 2, b.rank >= 2 else {
            throw TensorError.shapeMismatch("matmul", a.shape, b.shape, "both operands need at least 2 dimensions")
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        guard k == kb else {
            throw TensorError.shapeMismatch("matmul", a.shape, b.shape,
                                            "inner dimensions differ (\(k) vs \(kb))")
        }
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        guard aBatch.isEmpty || bBatch.isEmpty || aBatch == bBatch else {
            throw TensorError.shapeMismatch("matmul", a.shape, b.shape, "batch dimensions differ")
        }
        let batchDims = aBatch.isEmpty ? bBatch : aBatch
        let batch = batchDims.reduce(1, *)
        let outShape = batchDims + [m, n]
        if accumulate {
            try c.expectShape(outShape, "matmul", "accumulator")
            c.makeUnique()
        } else {
            c.reuse(shape: outShape)
        }
        let beta: Float = accumulate ? 1 : 0
        let cp = c.mutableData
        // A shared right operand and an untransposed batched left operand: fold the batch
        // into M and make one large GEMM call.
        if bBatch.isEmpty && !transposeA {
            BLAS.sgemm(transposeA: false, transposeB: transposeB, m: batch * m, n: n, k: k, alpha: alpha,
                       a: a.data, lda: ac, b: b.data, ldb: bc, beta: beta, c: cp, ldc: n)
            return
        }
        let aStride = aBatch.isEmpty ? 0 : ar * ac, bStride = bBatch.isEmpty ? 0 : br * bc
        for i in 0..<batch {
            BLAS.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                       a: a.data + i * aStride, lda: ac, b: b.data + i * bStride, ldb: bc,
                       beta: beta, c: cp + i * m * n, ldc: n)
        }
    }
}
