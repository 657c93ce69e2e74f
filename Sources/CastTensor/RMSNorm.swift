/// RMS normalisation over the last dimension: `y = x · rstd · w`, with
/// `rstd = 1/√(mean(x²) + eps)` per row (llama, qwen2, gemma3; GGUF norm weights are used
/// as stored). Leading dimensions are folded into rows.
public enum RMSNorm {
    /// Writes `y` (same shape as `x`) and saves `rstd` `[rows]` for backward.
    public static func forward(_ x: Tensor, weight: Tensor, eps: Float,
                               into y: inout Tensor, rstd: inout Tensor) throws {
        let (rows, d) = try check(x, weight, "RMSNorm.forward")
        y.reuse(shape: x.shape)
        rstd.reuse(shape: [rows])
        let (xp, wp, yp, rp) = (x.data, weight.data, y.mutableData, rstd.mutableData)
        Parallel.forEach(rows, grain: VectorMath.rowGrain(d)) { range in
            for r in range {
                let xr = xp + r * d, yr = yp + r * d
                let s = 1 / (VectorMath.sumOfSquares(xr, d) / Float(d) + eps).squareRoot()
                rp[r] = s
                for i in 0..<d { yr[i] = xr[i] * s * wp[i] }
            }
        }
    }

    /// Inference form: no saved state.
    public static func forward(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
        var y = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try forward(x, weight: weight, eps: eps, into: &y, rstd: &rstd)
        return y
    }

    /// Accumulates into `dx` and `dWeight` (nil = not needed):
    /// `dx += rstd·w⊙dy − rstd³/d · x · Σ(dy⊙w⊙x)` per row, `dWeight += Σ_rows dy⊙x·rstd`.
    public static func backward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor,
                                dx: inout Tensor?, dWeight: inout Tensor?) throws {
        let (rows, d) = try check(x, weight, "RMSNorm.backward")
        try dy.expectShape(x.shape, "RMSNorm.backward", "dy")
        try rstd.expectShape([rows], "RMSNorm.backward", "rstd")
        let (gp, xp, wp, rp) = (dy.data, x.data, weight.data, rstd.data)
        if dx != nil {
            try dx!.expectShape(x.shape, "RMSNorm.backward", "dx")
            let dxp = dx!.mutableData
            Parallel.forEach(rows, grain: VectorMath.rowGrain(d)) { range in
                for r in range {
                    let gr = gp + r * d, xr = xp + r * d, dxr = dxp + r * d
                    let s = rp[r]
                    let k = s * s * s * VectorMath.dot3(gr, wp, xr, d) / Float(d)
                    for i in 0..<d { dxr[i] += s * wp[i] * gr[i] - k * xr[i] }
                }
            }
        }
        if dWeight != nil {
            try dWeight!.expectShape(weight.shape, "RMSNorm.backward", "dWeight")
            let dwp = dWeight!.mutableData
            // Columns are independent: split them across cores and sum rows in order, so the
            // result does not depend on the thread count.
            Parallel.forEach(d, grain: VectorMath.columnGrain) { cols in
                for r in 0..<rows {
                    let gr = gp + r * d, xr = xp + r * d, s = rp[r]
                    for c in cols { dwp[c] += gr[c] * xr[c] * s }
                }
            }
        }
    }

    /// `(rows, d)` of an input normalised by a `[d]` weight (shared with `LayerNorm`).
    static func check(_ x: Tensor, _ weight: Tensor, _ op: String) throws -> (rows: Int, d: Int) {
        guard weight.rank == 1, weight.count > 0, x.rank >= 1, x.shape.last == weight.count else {
            throw TensorError.shapeMismatch(op, x.shape, weight.shape,
                                            "input's last dimension must equal the weight's length")
        }
        return (x.count / weight.count, weight.count)
    }
}
