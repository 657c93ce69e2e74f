/// Linear layer `y = x·Wᵀ + b` with PyTorch/GGUF weight layout `W: [out, in]`.
///
/// `x` is `[..., in]`; all leading dimensions are folded into rows, so one GEMM covers a
/// whole batch of sequences.
public enum Linear {
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, into y: inout Tensor) throws {
        let (rows, inFeatures, outFeatures) = try check(x, weight, bias)
        y.reuse(shape: Array(x.shape.dropLast()) + [outFeatures])
        let yp = y.mutableData
        if let bias {
            for r in 0..<rows { (yp + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                   a: x.data, lda: inFeatures, b: weight.data, ldb: inFeatures,
                   beta: bias == nil ? 0 : 1, c: yp, ldc: outFeatures)
    }

    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        var y = Tensor(zeros: [])
        try forward(x, weight: weight, bias: bias, into: &y)
        return y
    }

    /// Accumulates `dx += dy·W`, `dWeight += dyᵀ·x`, `dBias += Σ dy` into whichever buffers
    /// are non-nil (nil = not needed, e.g. a frozen weight).
    public static func backward(dy: Tensor, x: Tensor, weight: Tensor,
                                dx: inout Tensor?, dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        let (rows, inFeatures, outFeatures) = try check(x, weight, nil)
        try dy.expectShape(Array(x.shape.dropLast()) + [outFeatures], "Linear.backward", "dy")
        if dx != nil {
            try dx!.expectShape(x.shape, "Linear.backward", "dx")
            BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                       a: dy.data, lda: outFeatures, b: weight.data, ldb: inFeatures,
                       beta: 1, c: dx!.mutableData, ldc: inFeatures)
        }
        try weightAndBiasBackward(dy: dy, x: x, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                  dWeight: &dWeight, dBias: &dBias)
    }

    /// `dWeight += dyᵀ·x`, `dBias += Σ dy` (whichever is non-nil): neither needs the weight.
    static func weightAndBiasBackward(dy: Tensor, x: Tensor, rows: Int, inFeatures: Int, outFeatures: Int,
                                      dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        if dWeight != nil {
            try dWeight!.expectShape([outFeatures, inFeatures], "Linear.backward", "dWeight")
            BLAS.sgemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                       a: dy.data, lda: outFeatures, b: x.data, ldb: inFeatures,
                       beta: 1, c: dWeight!.mutableData, ldc: inFeatures)
        }
        if dBias != nil {
            try dBias!.expectShape([outFeatures], "Linear.backward", "dBias")
            let db = dBias!.mutableData, g = dy.data
            // Columns are independent: split them across cores, sum rows in order.
            Parallel.forEach(outFeatures, grain: 64) { cols in
                for r in 0..<rows {
                    let row = g + r * outFeatures
                    for c in cols { db[c] += row[c] }
                }
            }
        }
    }

    private static func check(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?) throws -> (Int, Int, Int) {
        try check(x, shape: weight.shape, bias)
    }

    static func check(_ x: Tensor, shape weightShape: [Int], _ bias: Tensor?) throws -> (Int, Int, Int) {
        guard weightShape.count == 2 else {
            throw TensorError("Linear", "weight must be [out, in], got \(weightShape)")
        }
        let (outFeatures, inFeatures) = (weightShape[0], weightShape[1])
        guard x.rank >= 1, inFeatures > 0, x.shape.last == inFeatures else {
            throw TensorError.shapeMismatch("Linear", x.shape, weightShape,
                                            "input's last dimension must equal weight's in-features")
        }
        if let bias, bias.shape != [outFeatures] {
            throw TensorError.shapeMismatch("Linear", bias.shape, weightShape, "bias must be [out]")
        }
        return (x.count / inFeatures, inFeatures, outFeatures)
    }
}
