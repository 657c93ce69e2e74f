import CBLAS

/// Typed, threaded `cblas_sgemm` for row-major matrices.
///
/// OpenBLAS is held to one thread for the whole process, and a large product is split here
/// into column (or row) blocks that `Parallel.forEach` runs side by side, each an ordinary
/// single-threaded sgemm. OpenBLAS's own threading reads a process-wide thread count at
/// each call and, under its Haswell/Zen kernels, a different split gives different last
/// bits; with the split chosen here from the shape and `Parallel.threads` alone, the same
/// call gives the same bits whatever runs beside it.
public enum BLAS {
    /// Pins OpenBLAS to one thread, once, before its first use by the engine.
    @usableFromInline static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// Multiply-adds below which a product runs on one thread (a split costs ~10 µs).
    @usableFromInline static let splitThreshold = 1 << 20
    /// Multiply-adds below which a one-row product (matrix × vector) runs on one thread.
    @usableFromInline static let vectorSplitThreshold = 1 << 17
    /// Blocks are whole multiples of this many rows or columns (the kernels' unroll).
    @usableFromInline static let blockUnit = 16

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
        _ = singleThreaded
        let work = m * n * k
        let splitsColumns = n >= m
        let extent = splitsColumns ? n : m
        let units = (extent + blockUnit - 1) / blockUnit
        let chunks = Parallel.isWorker || work < (m == 1 ? vectorSplitThreshold : splitThreshold)
            ? 1 : Parallel.chunkCount(units, grain: 1)
        if chunks <= 1 {
            block(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let shared = UncheckedSendable((a, b, c))
        Parallel.forEach(chunks) { range in
            let (a, b, c) = shared.value
            for piece in range {
                let units = Parallel.chunkRange(piece, of: chunks, count: units)
                let lo = units.lowerBound * blockUnit, hi = min(extent, units.upperBound * blockUnit)
                if splitsColumns {  // columns lo..<hi of op(B) and of C
                    block(transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k, alpha: alpha,
                          a: a, lda: lda, b: b + (transposeB ? lo * ldb : lo), ldb: ldb,
                          beta: beta, c: c + lo, ldc: ldc)
                } else {  // rows lo..<hi of op(A) and of C
                    block(transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k, alpha: alpha,
                          a: a + (transposeA ? lo : lo * lda), lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c + lo * ldc, ldc: ldc)
                }
            }
        }
    }

    /// Runs `body` with OpenBLAS threading its own calls over `Parallel.threads` threads, then
    /// pins it back to one: for benchmarks that time raw OpenBLAS beside the engine. The
    /// count is process-wide, so never while engine work runs on another thread.
    public static func withOpenBLASThreading(_ body: () -> Void) {
        _ = singleThreaded
        openblas_set_num_threads(Int32(Parallel.threads))
        defer { openblas_set_num_threads(1) }
        body()
    }

    /// One single-threaded product.
    @usableFromInline
    static func block(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
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
