/// Distillation loss between teacher and student logits `[..., V]` at a temperature τ:
///
/// `loss = τ² · mean over counted rows of KL(p ‖ q)`, `p = softmax(teacher/τ)`,
/// `q = softmax(student/τ)`, `KL(p ‖ q) = Σ_j p_j (log p_j − log q_j)`.
///
/// The τ² factor keeps gradient magnitudes comparable across temperatures (Hinton et al.).
/// `rowMask` (true = counted) drops rows such as padding; with no counted row the loss is 0.
/// `rowWeights` scales each row's KL in the mean (a per-token weighting; nil = all 1).
/// Forward saves per-row statistics `[rows, 3]`: the log-sum-exp of student/τ and of
/// teacher/τ, and the row's KL; backward recomputes the softmaxes from them.
public enum KLDivergence {
    public static func forward(student: Tensor, teacher: Tensor, temperature: Float = 1,
                               rowMask: [Bool]? = nil, rowWeights: [Float]? = nil,
                               statistics: inout Tensor) throws -> Float {
        let (rows, n) = try check(student, teacher, temperature, rowMask, rowWeights, "KLDivergence.forward")
        statistics.reuse(shape: [rows, 3])
        let sp = student.data, tp = teacher.data, st = statistics.mutableData
        let inverse = 1 / temperature
        let total = ChunkedSum.run(rows, grain: max(1, 4096 / n)) { range in
            var sum = 0.0
            for r in range {
                let s = sp + r * n, t = tp + r * n
                let lseS = SoftmaxRows.logSumExp(s, n, scale: inverse)
                let lseT = SoftmaxRows.logSumExp(t, n, scale: inverse)
                let kl = rowKL(s, t, n, inverse: inverse, lseS: lseS, lseT: lseT)
                st[3 * r] = lseS
                st[3 * r + 1] = lseT
                st[3 * r + 2] = kl
                if rowMask?[r] ?? true { sum += Double(kl) * Double(rowWeights?[r] ?? 1) }
            }
            return sum
        }
        let counted = countedRows(rows, rowMask)
        return counted == 0 ? 0 : temperature * temperature * Float(total / Double(counted))
    }

    public static func forward(student: Tensor, teacher: Tensor, temperature: Float = 1,
                               rowMask: [Bool]? = nil, rowWeights: [Float]? = nil) throws -> Float {
        var statistics = Tensor(zeros: [])
        return try forward(student: student, teacher: teacher, temperature: temperature,
                           rowMask: rowMask, rowWeights: rowWeights, statistics: &statistics)
    }

    /// Accumulates, for counted rows, with `w = dLoss · τ · weight_row / counted`:
    /// `dStudent += w · (q − p)` and `dTeacher += w · p ⊙ (log p − log q − KL_row)`.
    public static func backward(dLoss: Float = 1, student: Tensor, teacher: Tensor, temperature: Float = 1,
                                rowMask: [Bool]? = nil, rowWeights: [Float]? = nil, statistics: Tensor,
                                dStudent: inout Tensor?, dTeacher: inout Tensor?) throws {
        let op = "KLDivergence.backward"
        let (rows, n) = try check(student, teacher, temperature, rowMask, rowWeights, op)
        try statistics.expectShape([rows, 3], op, "statistics")
        if dStudent != nil { try dStudent!.expectShape(student.shape, op, "dStudent") }
        if dTeacher != nil { try dTeacher!.expectShape(teacher.shape, op, "dTeacher") }
        let counted = countedRows(rows, rowMask)
        guard counted > 0, dStudent != nil || dTeacher != nil else { return }
        let base = dLoss * temperature / Float(counted), inverse = 1 / temperature
        let sp = student.data, tp = teacher.data, st = statistics.data
        let ds = dStudent?.mutableData, dt = dTeacher?.mutableData
        Parallel.forEach(rows, grain: max(1, 4096 / n)) { range in
            for r in range where rowMask?[r] ?? true {
                let s = sp + r * n, t = tp + r * n, w = base * (rowWeights?[r] ?? 1)
                let (lseS, lseT, kl) = (st[3 * r], st[3 * r + 1], st[3 * r + 2])
                let gs = ds.map { $0 + r * n }, gt = dt.map { $0 + r * n }
                forEachChunk(s, t, n, inverse: inverse, lseS: lseS, lseT: lseT) { j, lanes, logQ, logP in
                    let p = K.exp(logP)
                    if let gs {
                        let g = w * (K.exp(logQ) - p)
                        for i in 0..<lanes { gs[j + i] += g[i] }
                    }
                    if let gt {
                        let g = w * p * (logP - logQ - kl)
                        for i in 0..<lanes { gt[j + i] += g[i] }
                    }
                }
            }
        }
    }

    /// `Σ_j p_j (log p_j − log q_j)` for one row, from the two log-sum-exps.
    private static func rowKL(_ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int,
                              inverse: Float, lseS: Float, lseT: Float) -> Float {
        var acc = K.Lanes(repeating: 0)
        forEachChunk(s, t, n, inverse: inverse, lseS: lseS, lseT: lseT) { _, lanes, logQ, logP in
            var term = K.exp(logP) * (logP - logQ)
            if lanes < K.width { for i in lanes..<K.width { term[i] = 0 } }
            acc += term
        }
        return acc.sum()
    }

    private typealias K = VectorMath

    /// Walks a row in 8-lane chunks: `body(start, lanes, log q, log p)` with
    /// `log q = s/τ − lseS`, `log p = t/τ − lseT`; a short last chunk is padded with zero
    /// inputs, and `lanes` says how many of its lanes are real.
    @inline(__always)
    private static func forEachChunk(_ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int,
                                     inverse: Float, lseS: Float, lseT: Float,
                                     _ body: (Int, Int, K.Lanes, K.Lanes) -> Void) {
        var j = 0
        while j < n {
            let lanes = Swift.min(K.width, n - j)
            let sv = lanes == K.width ? K.load(s + j) : K.loadTail(s + j, lanes, fill: 0)
            let tv = lanes == K.width ? K.load(t + j) : K.loadTail(t + j, lanes, fill: 0)
            body(j, lanes, sv * inverse - lseS, tv * inverse - lseT)
            j += lanes
        }
    }

    private static func countedRows(_ rows: Int, _ mask: [Bool]?) -> Int {
        mask.map { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } ?? rows
    }

    private static func check(_ student: Tensor, _ teacher: Tensor, _ temperature: Float,
                              _ rowMask: [Bool]?, _ rowWeights: [Float]?, _ op: String) throws -> (Int, Int) {
        guard student.shape == teacher.shape else {
            throw TensorError.shapeMismatch(op, student.shape, teacher.shape, "student and teacher logits must have the same shape")
        }
        let (rows, n) = try Softmax.rowsAndWidth(student, op)
        guard temperature > 0, temperature.isFinite else {
            throw TensorError(op, "temperature must be positive and finite, got \(temperature)")
        }
        if let rowMask, rowMask.count != rows {
            throw TensorError.shapeMismatch(op, [rowMask.count], student.shape, "rowMask needs one entry per row (\(rows))")
        }
        if let rowWeights {
            guard rowWeights.count == rows else {
                throw TensorError.shapeMismatch(op, [rowWeights.count], student.shape, "rowWeights needs one entry per row (\(rows))")
            }
            if let bad = rowWeights.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                throw TensorError(op, "rowWeights[\(bad)] = \(rowWeights[bad]) must be finite and ≥ 0")
            }
        }
        return (rows, n)
    }
}
