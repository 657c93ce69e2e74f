/// Mean squared error `mean((a − b)²)` over every element, with gradients to both sides
/// (CAST matches hidden states, where either side may be trainable).
public enum MSE {
    public static func forward(_ a: Tensor, _ b: Tensor) throws -> Float {
        try check(a, b, "MSE.forward")
        let n = a.count
        guard n > 0 else { return 0 }
        let ap = a.data, bp = b.data
        let total = ChunkedSum.run(n, grain: 16384) { range in
            typealias K = VectorMath
            var acc = K.Lanes(repeating: 0)
            var i = range.lowerBound
            while i + K.width <= range.upperBound {
                let d = K.load(ap + i) - K.load(bp + i)
                acc += d * d
                i += K.width
            }
            var sum = Double(acc.sum())
            while i < range.upperBound {
                let d = Double(ap[i]) - Double(bp[i])
                sum += d * d
                i += 1
            }
            return sum
        }
        return Float(total / Double(n))
    }

    /// Accumulates `da += g·(a − b)` and `db −= g·(a − b)`, `g = 2·dLoss / count`.
    public static func backward(dLoss: Float = 1, _ a: Tensor, _ b: Tensor,
                                da: inout Tensor?, db: inout Tensor?) throws {
        try check(a, b, "MSE.backward")
        if da != nil { try da!.expectShape(a.shape, "MSE.backward", "da") }
        if db != nil { try db!.expectShape(b.shape, "MSE.backward", "db") }
        let n = a.count
        guard n > 0, da != nil || db != nil else { return }
        let g = 2 * dLoss / Float(n)
        let ap = a.data, bp = b.data
        let dap = da?.mutableData, dbp = db?.mutableData
        Parallel.forEach(n, grain: 16384) { range in
            for i in range {
                let d = g * (ap[i] - bp[i])
                dap?[i] += d
                dbp?[i] -= d
            }
        }
    }

    private static func check(_ a: Tensor, _ b: Tensor, _ op: String) throws {
        guard a.shape == b.shape else {
            throw TensorError.shapeMismatch(op, a.shape, b.shape, "both sides must have the same shape")
        }
    }
}
