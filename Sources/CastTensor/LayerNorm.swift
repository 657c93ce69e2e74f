/// Layer normalisation over the last dimension (gpt2):
/// `y = (x − mean)·rstd·w + b`, `rstd = 1/√(var + eps)` with the biased variance per row.
/// Leading dimensions are folded into rows.
public enum LayerNorm {
    /// Writes `y` (same shape as `x`) and saves `mean` and `rstd` `[rows]` for backward.
    /// `bias` nil means no bias.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, eps: Float,
                               into y: inout Tensor, mean: inout Tensor, rstd: inout Tensor) throws {
        let (rows, d) = try check(x, weight, bias, "LayerNorm.forward")
        y.reuse(shape: x.shape)
        mean.reuse(shape: [rows])
        rstd.reuse(shape: [rows])
        let (xp, wp, yp, mp, rp) = (x.data, weight.data, y.mutableData, mean.mutableData, rstd.mutableData)
        let bp = bias?.data
        Parallel.forEach(rows, grain: VectorMath.rowGrain(d)) { range in
            for r in range {
                let xr = xp + r * d, yr = yp + r * d
                let m = VectorMath.sum(xr, d) / Float(d)
                let s = 1 / (VectorMath.sumOfSquares(xr, d, center: m) / Float(d) + eps).squareRoot()
                mp[r] = m
                rp[r] = s
                if let bp {
                    for i in 0..<d { yr[i] = (xr[i] - m) * s * wp[i] + bp[i] }
                } else {
                    for i in 0..<d { yr[i] = (xr[i] - m) * s * wp[i] }
                }
            }
        }
    }

    /// Inference form: no saved state.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, eps: Float) throws -> Tensor {
        var y = Tensor(zeros: []), mean = Tensor(zeros: []), rstd = Tensor(zeros: [])
        try forward(x, weight: weight, bias: bias, eps: eps, into: &y, mean: &mean, rstd: &rstd)
        return y
    }

    /// Accumulates into `dx`, `dWeight`, `dBias` (nil = not needed). With `x̂ = (x − mean)·rstd`
    /// and `g = dy⊙w`: `dx += rstd·(g − mean(g) − x̂·mean(g⊙x̂))`, `dWeight += Σ_rows dy⊙x̂`,
    /// `dBias += Σ_rows dy`.
    public static func backward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor,
                                dx: inout Tensor?, dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        let (rows, d) = try check(x, weight, nil, "LayerNorm.backward")
        try dy.expectShape(x.shape, "LayerNorm.backward", "dy")
        try mean.expectShape([rows], "LayerNorm.backward", "mean")
        try rstd.expectShape([rows], "LayerNorm.backward", "rstd")
        let (gp, xp, wp, mp, rp) = (dy.data, x.data, weight.data, mean.data, rstd.data)
        let invD = 1 / Float(d)
        if dx != nil {
            try dx!.expectShape(x.shape, "LayerNorm.backward", "dx")
            let dxp = dx!.mutableData
            Parallel.forEach(rows, grain: VectorMath.rowGrain(d)) { range in
                for r in range {
                    let gr = gp + r * d, xr = xp + r * d, dxr = dxp + r * d
                    let (m, s) = (mp[r], rp[r])
                    let meanG = VectorMath.dot(gr, wp, d) * invD
                    let meanGXhat = VectorMath.dot3(gr, wp, xr, d, center: m) * s * invD
                    for i in 0..<d {
                        let xhat = (xr[i] - m) * s
                        dxr[i] += s * (gr[i] * wp[i] - meanG - xhat * meanGXhat)
                    }
                }
            }
        }
        if dWeight != nil { try dWeight!.expectShape(weight.shape, "LayerNorm.backward", "dWeight") }
        if dBias != nil { try dBias!.expectShape(weight.shape, "LayerNorm.backward", "dBias") }
        let dwp = dWeight == nil ? nil : dWeight!.mutableData
        let dbp = dBias == nil ? nil : dBias!.mutableData
        guard dwp != nil || dbp != nil else { return }
        // Columns are independent: split them across cores and sum rows in order, so the
        // result does not depend on the thread count.
        Parallel.forEach(d, grain: VectorMath.columnGrain) { cols in
            for r in 0..<rows {
                let gr = gp + r * d, xr = xp + r * d
                let (m, s) = (mp[r], rp[r])
                if let dwp { for c in cols { dwp[c] += gr[c] * ((xr[c] - m) * s) } }
                if let dbp { for c in cols { dbp[c] += gr[c] } }
            }
        }
    }

    private static func check(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ op: String) throws -> (rows: Int, d: Int) {
        let shape = try RMSNorm.check(x, weight, op)
        if let bias, bias.shape != weight.shape {
            throw TensorError.shapeMismatch(op, bias.shape, weight.shape, "bias must match the weight")
        }
        return shape
    }
}
