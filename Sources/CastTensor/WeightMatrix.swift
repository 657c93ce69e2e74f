/// The weight of a linear layer or an embedding table, `[out, in]` / `[vocab, d]`: float32
/// (trainable, from any source) or packed 8-bit (frozen, straight from a quantized GGUF file).
/// `Linear` and `Embedding` take either; products with a packed matrix use its own kernel.
public enum WeightMatrix: Sendable {
    case dense(Tensor)
    case packed(PackedMatrix)

    public var shape: [Int] {
        switch self {
        case .dense(let t): t.shape
        case .packed(let p): p.shape
        }
    }

    public var count: Int { shape.reduce(1, *) }

    /// The float32 values (for a packed matrix, a dequantized copy).
    public var tensor: Tensor {
        switch self {
        case .dense(let t): t
        case .packed(let p): p.dequantized()
        }
    }

    /// Bytes the weight occupies in memory.
    public var byteCount: Int {
        switch self {
        case .dense(let t): t.count * MemoryLayout<Float>.size
        case .packed(let p): p.byteCount
        }
    }
}

extension Linear {
    /// `arithmetic` applies to packed weights (a float32 weight is always exact).
    public static func forward(_ x: Tensor, weight: WeightMatrix, bias: Tensor? = nil,
                               arithmetic: PackedArithmetic = .float32, into y: inout Tensor) throws {
        switch weight {
        case .dense(let w):
            try forward(x, weight: w, bias: bias, into: &y)
        case .packed(let w):
            let (rows, inFeatures, outFeatures) = try check(x, shape: w.shape, bias)
            y.reuse(shape: Array(x.shape.dropLast()) + [outFeatures])
            let yp = y.mutableData
            if let bias {
                for r in 0..<rows { (yp + r * outFeatures).update(from: bias.data, count: outFeatures) }
            }
            w.multiply(x.data, ldx: inFeatures, rows: rows, into: yp, ldy: outFeatures, accumulate: bias != nil,
                       arithmetic: arithmetic)
        }
    }

    public static func forward(_ x: Tensor, weight: WeightMatrix, bias: Tensor? = nil,
                               arithmetic: PackedArithmetic = .float32) throws -> Tensor {
        var y = Tensor()
        try forward(x, weight: weight, bias: bias, arithmetic: arithmetic, into: &y)
        return y
    }

    /// As `backward` for a float32 weight. A packed weight is frozen (`dWeight` may still be
    /// asked for: it needs only `dy` and `x`); `dx += dy·W` dequantizes W a slab of rows at
    /// a time into a reused buffer and runs sgemm on each slab.
    public static func backward(dy: Tensor, x: Tensor, weight: WeightMatrix,
                                dx: inout Tensor?, dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        switch weight {
        case .dense(let w):
            try backward(dy: dy, x: x, weight: w, dx: &dx, dWeight: &dWeight, dBias: &dBias)
        case .packed(let w):
            let (rows, inFeatures, outFeatures) = try check(x, shape: w.shape, nil)
            try dy.expectShape(Array(x.shape.dropLast()) + [outFeatures], "Linear.backward", "dy")
            if dx != nil {
                try dx!.expectShape(x.shape, "Linear.backward", "dx")
                // ~4 MB slabs of whole 16-row panels (the vector dequantizer's unit).
                let slabRows = max(16, min(outFeatures, (1 << 20) / inFeatures) / 16 * 16)
                let dxp = dx!.mutableData
                ScratchPool.shared.withBuffer(bytes: slabRows * inFeatures * MemoryLayout<Float>.size) { raw in
                    let slab = raw.assumingMemoryBound(to: Float.self)
                    for n0 in stride(from: 0, to: outFeatures, by: slabRows) {
                        let n = min(slabRows, outFeatures - n0)
                        w.dequantizeRows(n0..<(n0 + n), into: slab)
                        BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: n,
                                   a: dy.data + n0, lda: outFeatures, b: slab, ldb: inFeatures,
                                   beta: 1, c: dxp, ldc: inFeatures)
                    }
                }
            }
            try weightAndBiasBackward(dy: dy, x: x, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                      dWeight: &dWeight, dBias: &dBias)
        }
    }
}

extension Embedding {
    /// Row lookup in a float32 or packed table.
    public static func forward(ids: [Int32], idsShape: [Int]? = nil, table: WeightMatrix,
                               into out: inout Tensor) throws {
        switch table {
        case .dense(let t):
            try forward(ids: ids, idsShape: idsShape, table: t, into: &out)
        case .packed(let p):
            let leading = try leadingShape(ids, idsShape, "Embedding.forward")
            try checkRange(ids, vocab: p.rows, "Embedding.forward")
            let d = p.columns
            out.reuse(shape: leading + [d])
            let dst = UncheckedSendable(out.mutableData)
            Parallel.forEach(ids.count, grain: 16) { range in
                for i in range { p.dequantizeRows(Int(ids[i])..<Int(ids[i]) + 1, into: dst.value + i * d) }
            }
        }
    }
}
