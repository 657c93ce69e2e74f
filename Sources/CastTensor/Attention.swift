import CBLAS

/// Causal multi-head scaled-dot-product attention with grouped-query heads and an optional
/// sliding window.
///
/// Layout: `q` is `[B, T, heads·headDim]`, `k` and `v` are `[B, S, kvHeads·headDim]`, the
/// output is `[B, T, heads·headDim]`. The T queries sit at the last T of the S key positions
/// (query i is at position `S − T + i`), so training (S == T) and a KV cache (S > T) share
/// this code. Query head h reads kv head `h / (heads / kvHeads)`. Key j is visible to the
/// query at position p iff `p − window < j ≤ p` (no lower bound without a window).
///
/// Scores are computed per block of query rows with one `BLAS.sgemm` over only the keys some
/// row of the block can see, so fully masked blocks cost nothing (about half the causal
/// work). Forward splits (batch, head, query block) units across the cores; backward takes
/// heads in order and splits each head's query blocks (dS, dQ) then key blocks (dK, dV).
/// OpenBLAS is held to one thread meanwhile, since the cores already work side by side.
/// Every output element is produced by the same float operations whatever the split, so
/// repeated runs are bit-identical.
public enum Attention {
    public struct Config: Sendable, Equatable {
        public var heads: Int
        public var kvHeads: Int
        public var headDim: Int
        /// Sliding window size in positions (nil: plain causal).
        public var window: Int?
        /// Multiplies the scores before softmax; 1/√headDim unless given.
        public var scale: Float

        public init(heads: Int, kvHeads: Int, headDim: Int, window: Int? = nil, scale: Float? = nil) {
            self.heads = heads
            self.kvHeads = kvHeads
            self.headDim = headDim
            self.window = window
            self.scale = scale ?? 1 / Float(headDim).squareRoot()
        }
    }

    /// Query rows per work unit; small enough that skipping masked blocks saves about half
    /// the causal work, large enough for efficient GEMMs.
    static let defaultBlockRows = 64

    /// Writes the attention output into `out`. When `probabilities` is non-nil it receives the
    /// softmax probabilities `[B, heads, T, S]` (masked entries 0) that backward needs;
    /// pass nil for inference.
    public static func forward(q: Tensor, k: Tensor, v: Tensor, config: Config,
                               into out: inout Tensor, probabilities: inout Tensor?) throws {
        try forward(q: q, k: k, v: v, config: config, into: &out, probabilities: &probabilities,
                    blockRows: defaultBlockRows)
    }

    public static func forward(q: Tensor, k: Tensor, v: Tensor, config: Config) throws -> Tensor {
        var out = Tensor(zeros: []), probabilities: Tensor? = nil
        try forward(q: q, k: k, v: v, config: config, into: &out, probabilities: &probabilities)
        return out
    }

    /// Accumulates `dq`, `dk`, `dv` (nil = not needed) from `dOut` and the probabilities the
    /// forward pass saved.
    public static func backward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probabilities: Tensor,
                                config: Config, dq: inout Tensor?, dk: inout Tensor?, dv: inout Tensor?) throws {
        try backward(dOut: dOut, q: q, k: k, v: v, probabilities: probabilities, config: config,
                     dq: &dq, dk: &dk, dv: &dv, blockRows: defaultBlockRows)
    }

    // MARK: geometry

    struct Geometry {
        let batch: Int, queries: Int, keys: Int
        let heads: Int, kvHeads: Int, headDim: Int
        let window: Int?, scale: Float, blockRows: Int
        var qStride: Int { heads * headDim }
        var kvStride: Int { kvHeads * headDim }
        var group: Int { heads / kvHeads }
        var blocks: Int { (queries + blockRows - 1) / blockRows }

        /// Keys visible to query row i: `[lo, hi)`.
        @inline(__always) func visible(_ i: Int) -> (lo: Int, hi: Int) {
            let position = keys - queries + i
            let lo = window.map { Swift.max(0, position - $0 + 1) } ?? 0
            return (lo, position + 1)
        }

        /// Query rows `[t0, t1)` of block `b` and the union of the keys they see.
        @inline(__always) func block(_ b: Int) -> (t0: Int, t1: Int, kLo: Int, kHi: Int) {
            let t0 = b * blockRows, t1 = Swift.min(queries, t0 + blockRows)
            return (t0, t1, visible(t0).lo, visible(t1 - 1).hi)
        }

        var keyBlocks: Int { (keys + blockRows - 1) / blockRows }

        /// Key rows `[s0, s1)` of key block `b` and the query rows `[qLo, qHi)` that see any of them.
        @inline(__always) func keyBlock(_ b: Int) -> (s0: Int, s1: Int, qLo: Int, qHi: Int) {
            let s0 = b * blockRows, s1 = Swift.min(keys, s0 + blockRows), offset = keys - queries
            let qLo = Swift.max(0, s0 - offset)
            let qHi = window.map { Swift.min(queries, s1 - 1 + $0 - offset) } ?? queries
            return (s0, s1, qLo, qHi)
        }

        /// Blocks listed so that consecutive pairs (cheap early block, costly late block)
        /// cost about the same; contiguous chunks of units are then balanced.
        func balancedOrder(_ blocks: Int) -> [Int] {
            var order = [Int](), lo = 0, hi = blocks - 1
            while lo <= hi {
                order.append(lo)
                if hi != lo { order.append(hi) }
                lo += 1
                hi -= 1
            }
            return order
        }
    }

    static func geometry(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ c: Config, blockRows: Int,
                         _ op: String) throws -> Geometry {
        guard c.heads > 0, c.kvHeads > 0, c.headDim > 0, c.heads % c.kvHeads == 0 else {
            throw TensorError(op, "heads (\(c.heads)) must be a positive multiple of kvHeads (\(c.kvHeads)), headDim \(c.headDim) positive")
        }
        if let w = c.window, w < 1 {
            throw TensorError(op, "sliding window must be at least 1, got \(w)")
        }
        guard q.rank == 3, q.shape[2] == c.heads * c.headDim else {
            throw TensorError.shapeMismatch(op, q.shape, [c.heads, c.headDim],
                                            "q must be [B, T, heads·headDim]")
        }
        guard k.rank == 3, k.shape[0] == q.shape[0], k.shape[2] == c.kvHeads * c.headDim,
              k.shape[1] >= q.shape[1] else {
            throw TensorError.shapeMismatch(op, k.shape, q.shape,
                                            "k must be [B, S ≥ T, kvHeads·headDim] (kvHeads \(c.kvHeads))")
        }
        guard v.shape == k.shape else {
            throw TensorError.shapeMismatch(op, v.shape, k.shape, "v must have the shape of k")
        }
        return Geometry(batch: q.shape[0], queries: q.shape[1], keys: k.shape[1], heads: c.heads,
                        kvHeads: c.kvHeads, headDim: c.headDim, window: c.window, scale: c.scale,
                        blockRows: blockRows)
    }

    // MARK: forward

    static func forward(q: Tensor, k: Tensor, v: Tensor, config: Config, into out: inout Tensor,
                        probabilities: inout Tensor?, blockRows: Int) throws {
        let g = try geometry(q, k, v, config, blockRows: blockRows, "Attention.forward")
        out.reuse(shape: q.shape)
        let saving = probabilities != nil
        if saving { probabilities!.reuse(shape: [g.batch, g.heads, g.queries, g.keys]) }
        guard g.batch > 0, g.queries > 0 else { return }
        let qp = q.data, kp = k.data, vp = v.data, op = out.mutableData
        let pp: UnsafeMutablePointer<Float>? = saving ? probabilities!.mutableData : nil
        let order = g.balancedOrder(g.blocks)
        let units = g.batch * g.heads * g.blocks
        let (S, hd) = (g.keys, g.headDim)

        Parallel.forEach(units, grain: 1) { range in
            // Scores of one block when the probabilities are not kept.
            let scratch = saving ? nil : UnsafeMutablePointer<Float>.allocate(capacity: g.blockRows * S)
            defer { scratch?.deallocate() }
            for unit in range {
                let bh = unit / g.blocks, b = bh / g.heads, h = bh % g.heads
                let blk = g.block(order[unit % g.blocks])
                let rows = blk.t1 - blk.t0, n = blk.kHi - blk.kLo
                let kvOffset = (h / g.group) * hd
                // Row r of the block's probabilities, from column kLo.
                let rowBase: UnsafeMutablePointer<Float>
                if let pp {
                    rowBase = pp + (bh * g.queries + blk.t0) * S
                } else {
                    rowBase = scratch!
                }
                let scores = rowBase + blk.kLo
                let qBlock = qp + (b * g.queries + blk.t0) * g.qStride + h * hd
                let kBlock = kp + (b * S + blk.kLo) * g.kvStride + kvOffset
                let vBlock = vp + (b * S + blk.kLo) * g.kvStride + kvOffset
                BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: n, k: hd, alpha: g.scale,
                           a: qBlock, lda: g.qStride, b: kBlock, ldb: g.kvStride,
                           beta: 0, c: scores, ldc: S)
                for r in 0..<rows {
                    let row = scores + r * S
                    let (lo, hi) = g.visible(blk.t0 + r)
                    let a = lo - blk.kLo, e = hi - blk.kLo
                    SoftmaxRows.softmax(row + a, row + a, e - a)
                    row.update(repeating: 0, count: a)
                    (row + e).update(repeating: 0, count: n - e)
                    if saving {
                        (rowBase + r * S).update(repeating: 0, count: blk.kLo)
                        (rowBase + r * S + blk.kHi).update(repeating: 0, count: S - blk.kHi)
                    }
                }
                BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: hd, k: n,
                           a: scores, lda: S, b: vBlock, ldb: g.kvStride,
                           beta: 0, c: op + (b * g.queries + blk.t0) * g.qStride + h * hd, ldc: g.qStride)
            }
        }
    }

    // MARK: backward

    static func backward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probabilities: Tensor,
                         config: Config, dq: inout Tensor?, dk: inout Tensor?, dv: inout Tensor?,
                         blockRows: Int) throws {
        let op = "Attention.backward"
        let g = try geometry(q, k, v, config, blockRows: blockRows, op)
        try dOut.expectShape(q.shape, op, "dOut")
        try probabilities.expectShape([g.batch, g.heads, g.queries, g.keys], op, "probabilities")
        if dq != nil { try dq!.expectShape(q.shape, op, "dq") }
        if dk != nil { try dk!.expectShape(k.shape, op, "dk") }
        if dv != nil { try dv!.expectShape(v.shape, op, "dv") }
        guard g.batch > 0, g.queries > 0, dq != nil || dk != nil || dv != nil else { return }

        let (S, hd) = (g.keys, g.headDim)
        let qp = q.data, kp = k.data, vp = v.data, pp = probabilities.data, gp = dOut.data
        let dqp = dq?.mutableData, dkp = dk?.mutableData, dvp = dv?.mutableData
        // dS of the current head [T, S], zero wherever masked.
        let dS: UnsafeMutablePointer<Float>? = dq != nil || dk != nil
            ? .allocate(capacity: g.queries * S) : nil
        defer { dS?.deallocate() }
        let queryOrder = g.balancedOrder(g.blocks), keyOrder = g.balancedOrder(g.keyBlocks)

        // Heads run one after another (heads sharing a kv head add into the same dk/dv rows,
        // in head order); the blocks of one head are split across the cores.
        for bh in 0..<g.batch * g.heads {
            let b = bh / g.heads, h = bh % g.heads, kvHead = h / g.group
            let p = pp + bh * g.queries * S
            let qHead = qp + b * g.queries * g.qStride + h * hd
            let gHead = gp + b * g.queries * g.qStride + h * hd
            let kHead = kp + b * S * g.kvStride + kvHead * hd
            let vHead = vp + b * S * g.kvStride + kvHead * hd
            // Query blocks: dP = dO·Vᵀ, dS = scale · P ⊙ (dP − Σ P⊙dP), dQ += dS·K.
            if let dS {
                Parallel.forEach(g.blocks, grain: 1) { range in
                    for index in range {
                        let blk = g.block(queryOrder[index])
                        let rows = blk.t1 - blk.t0, n = blk.kHi - blk.kLo
                        let dSBlock = dS + blk.t0 * S + blk.kLo
                        BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: n, k: hd,
                                   a: gHead + blk.t0 * g.qStride, lda: g.qStride,
                                   b: vHead + blk.kLo * g.kvStride, ldb: g.kvStride,
                                   beta: 0, c: dSBlock, ldc: S)
                        for r in 0..<rows {
                            let row = dS + (blk.t0 + r) * S, pRow = p + (blk.t0 + r) * S
                            let (lo, hi) = g.visible(blk.t0 + r)
                            let dot = VectorMath.dot(row + lo, pRow + lo, hi - lo)
                            for j in lo..<hi { row[j] = g.scale * pRow[j] * (row[j] - dot) }
                            row.update(repeating: 0, count: lo)
                            (row + hi).update(repeating: 0, count: S - hi)
                        }
                        if let dqp {
                            BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: hd, k: n,
                                       a: dSBlock, lda: S, b: kHead + blk.kLo * g.kvStride, ldb: g.kvStride,
                                       beta: 1, c: dqp + (b * g.queries + blk.t0) * g.qStride + h * hd,
                                       ldc: g.qStride)
                        }
                    }
                }
            }
            // Key blocks, over the queries that see them: dK += dSᵀ·Q, dV += Pᵀ·dO.
            guard dkp != nil || dvp != nil else { continue }
            Parallel.forEach(g.keyBlocks, grain: 1) { range in
                for index in range {
                    let (s0, s1, qLo, qHi) = g.keyBlock(keyOrder[index])
                    guard qHi > qLo else { continue }
                    let rowOffset = (b * S + s0) * g.kvStride + kvHead * hd
                    if let dkp, let dS {
                        BLAS.sgemm(transposeA: true, transposeB: false, m: s1 - s0, n: hd, k: qHi - qLo,
                                   a: dS + qLo * S + s0, lda: S, b: qHead + qLo * g.qStride, ldb: g.qStride,
                                   beta: 1, c: dkp + rowOffset, ldc: g.kvStride)
                    }
                    if let dvp {
                        BLAS.sgemm(transposeA: true, transposeB: false, m: s1 - s0, n: hd, k: qHi - qLo,
                                   a: p + qLo * S + s0, lda: S, b: gHead + qLo * g.qStride, ldb: g.qStride,
                                   beta: 1, c: dvp + rowOffset, ldc: g.kvStride)
                    }
                }
            }
        }
    }
}
