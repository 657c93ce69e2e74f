import Foundation

/// Mean cross-entropy of logits `[..., V]` against integer targets, one per row.
///
/// `loss = mean over counted rows of (logsumexp(logits[r]) − logits[r, target[r]])`. Rows
/// whose target equals `ignoreIndex` (e.g. padding, or prompt tokens masked out) are not
/// counted; when every row is ignored the loss is 0 and backward adds nothing.
/// Forward saves each row's log-sum-exp `[rows]`, so backward needs no `[rows, V]` buffer.
public enum CrossEntropy {
    public static let defaultIgnoreIndex: Int32 = -100

    /// Returns the mean loss; writes `logSumExp[rows]` for backward.
    public static func forward(logits: Tensor, targets: [Int32], ignoreIndex: Int32 = defaultIgnoreIndex,
                               logSumExp: inout Tensor) throws -> Float {
        let (rows, n) = try check(logits, targets, ignoreIndex, "CrossEntropy.forward")
        logSumExp.reuse(shape: [rows])
        let lp = logits.data, lse = logSumExp.mutableData
        let total = ChunkedSum.run(rows, grain: max(1, 8192 / n)) { range in
            var sum = 0.0
            for r in range {
                lse[r] = SoftmaxRows.logSumExp(lp + r * n, n)
                let t = targets[r]
                if t != ignoreIndex { sum += Double(lse[r]) - Double(lp[r * n + Int(t)]) }
            }
            return sum
        }
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        return counted == 0 ? 0 : Float(total / Double(counted))
    }

    public static func forward(logits: Tensor, targets: [Int32], ignoreIndex: Int32 = defaultIgnoreIndex) throws -> Float {
        var lse = Tensor(zeros: [])
        return try forward(logits: logits, targets: targets, ignoreIndex: ignoreIndex, logSumExp: &lse)
    }

    /// Accumulates `dLogits[r, j] += dLoss · (softmax(logits[r])_j − [j == target]) / counted`
    /// for every counted row.
    public static func backward(dLoss: Float = 1, logits: Tensor, targets: [Int32],
                                ignoreIndex: Int32 = defaultIgnoreIndex, logSumExp: Tensor,
                                dLogits: inout Tensor?) throws {
        let (rows, n) = try check(logits, targets, ignoreIndex, "CrossEntropy.backward")
        try logSumExp.expectShape([rows], "CrossEntropy.backward", "logSumExp")
        guard dLogits != nil else { return }
        try dLogits!.expectShape(logits.shape, "CrossEntropy.backward", "dLogits")
        let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        guard counted > 0 else { return }
        let weight = dLoss / Float(counted)
        let lp = logits.data, lse = logSumExp.data, d = dLogits!.mutableData
        Parallel.forEach(rows, grain: max(1, 8192 / n)) { range in
            for r in range where targets[r] != ignoreIndex {
                let x = lp + r * n, g = d + r * n
                addScaledSoftmax(x, n, shift: lse[r], weight: weight, into: g)
                g[Int(targets[r])] -= weight
            }
        }
    }

    /// `g[j] += weight · exp(x[j] − shift)`, vectorised.
    static func addScaledSoftmax(_ x: UnsafePointer<Float>, _ n: Int, scale: Float = 1, shift: Float,
                                 weight: Float, into g: UnsafeMutablePointer<Float>) {
        typealias K = VectorMath
        var j = 0
        while j + K.width <= n {
            K.store(K.load(g + j) + weight * K.exp(K.load(x + j) * scale - shift), g + j)
            j += K.width
        }
        if j < n {
            let e = K.exp(K.loadTail(x + j, n - j, fill: 0) * scale - shift)
            for i in 0..<(n - j) { g[j + i] += weight * e[i] }
        }
    }

    private static func check(_ logits: Tensor, _ targets: [Int32], _ ignoreIndex: Int32,
                              _ op: String) throws -> (Int, Int) {
        let (rows, n) = try Softmax.rowsAndWidth(logits, op)
        guard targets.count == rows else {
            throw TensorError.shapeMismatch(op, logits.shape, [targets.count],
                                            "one target per logits row (\(rows) rows)")
        }
        if let bad = targets.firstIndex(where: { $0 != ignoreIndex && ($0 < 0 || Int($0) >= n) }) {
            throw TensorError(op, "target \(targets[bad]) at row \(bad) is outside 0..<\(n) and is not the ignore index \(ignoreIndex)")
        }
        return (rows, n)
    }
}
