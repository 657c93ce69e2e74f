/// `y = a + b` with numpy broadcasting (residual connections, biases, learned offsets).
public enum BroadcastAdd {
    public static func forward(_ a: Tensor, _ b: Tensor, into y: inout Tensor) throws {
        try Elementwise.apply(.add, a, b, into: &y)
    }

    public static func forward(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try a.adding(b)
    }

    /// Accumulates `da += dy` and `db += dy`, each summed over the dimensions along which
    /// that operand was broadcast (nil = not needed).
    public static func backward(dy: Tensor, aShape: [Int], bShape: [Int],
                                da: inout Tensor?, db: inout Tensor?) throws {
        let op = "BroadcastAdd.backward"
        try dy.expectShape(try Tensor.broadcastShape(aShape, bShape), op, "dy")
        try BroadcastGradient.accumulate(dy, into: &da, shape: aShape, op: op, name: "da")
        try BroadcastGradient.accumulate(dy, into: &db, shape: bShape, op: op, name: "db")
    }
}

/// `y = a ⊙ b` with numpy broadcasting (gates, scales, masks).
public enum BroadcastMultiply {
    public static func forward(_ a: Tensor, _ b: Tensor, into y: inout Tensor) throws {
        try Elementwise.apply(.multiply, a, b, into: &y)
    }

    public static func forward(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try a.multiplying(b)
    }

    /// Accumulates `da += dy ⊙ b` and `db += dy ⊙ a`, each summed over the dimensions along
    /// which that operand was broadcast (nil = not needed). Backward needs both inputs.
    public static func backward(dy: Tensor, a: Tensor, b: Tensor,
                                da: inout Tensor?, db: inout Tensor?) throws {
        let op = "BroadcastMultiply.backward"
        let outShape = try Tensor.broadcastShape(a.shape, b.shape)
        try dy.expectShape(outShape, op, "dy")
        try BroadcastGradient.accumulateProduct(dy, other: b, into: &da, shape: a.shape, outShape: outShape, op: op, name: "da")
        try BroadcastGradient.accumulateProduct(dy, other: a, into: &db, shape: b.shape, outShape: outShape, op: op, name: "db")
    }
}

/// Gradient plumbing shared by the broadcasting ops.
enum BroadcastGradient {
    /// `grad += g` reduced to `shape`.
    static func accumulate(_ g: Tensor, into grad: inout Tensor?, shape: [Int], op: String, name: String) throws {
        guard grad != nil else { return }
        try grad!.expectShape(shape, op, name)
        try grad!.add(g.shape == shape ? g : g.sumReduced(toShape: shape))
    }

    /// `grad += dy ⊙ other` reduced to `shape`; fused (no temporary) when no reduction is needed.
    static func accumulateProduct(_ dy: Tensor, other: Tensor, into grad: inout Tensor?, shape: [Int],
                                  outShape: [Int], op: String, name: String) throws {
        guard grad != nil else { return }
        try grad!.expectShape(shape, op, name)
        if shape == outShape {
            try Elementwise.addProduct(dy, other, into: &grad!)
        } else if other.shape == outShape, let rows = trailingVectorRows(shape, outShape) {
            sumProductsOverRows(dy, other, rows: rows, into: &grad!)
        } else {
            try grad!.add(try dy.multiplying(other).sumReduced(toShape: shape))
        }
    }

    /// The number of rows when `shape` is a trailing slice of `outShape` broadcast over
    /// leading rows (a bias-like vector), nil otherwise.
    static func trailingVectorRows(_ shape: [Int], _ outShape: [Int]) -> Int? {
        let trimmed = Array(shape.drop { $0 == 1 })
        guard trimmed.count <= outShape.count, Array(outShape.suffix(trimmed.count)) == trimmed else { return nil }
        let d = trimmed.reduce(1, *)
        return d > 0 ? outShape.reduce(1, *) / d : nil
    }

    /// `grad[c] += Σ_r dy[r, c] · other[r, c]` without the `[rows, d]` temporary; columns are
    /// split across cores and rows added in order (deterministic).
    static func sumProductsOverRows(_ dy: Tensor, _ other: Tensor, rows: Int, into grad: inout Tensor) {
        let d = grad.count
        let (g, o) = (dy.data, other.data)
        let out = grad.mutableData
        Parallel.forEach(d, grain: Swift.max(16, Elementwise.memoryGrain / Swift.max(rows, 1))) { cols in
            for r in 0..<rows {
                let (gr, orow) = (g + r * d, o + r * d)
                for c in cols { out[c] += gr[c] * orow[c] }
            }
        }
        withExtendedLifetime((dy, other)) {}
    }
}
