/// Softmax over the last dimension: `y = exp(x − max) / Σ exp(x − max)` per row.
///
/// Leading dimensions fold into rows; rows are split across cores. The output is all that
/// backward needs, so nothing else is saved.
public enum Softmax {
    public static func forward(_ x: Tensor, into y: inout Tensor) throws {
        let (rows, n) = try rowsAndWidth(x, "Softmax.forward")
        y.reuse(shape: x.shape)
        let xp = x.data, yp = y.mutableData
        Parallel.forEach(rows, grain: max(1, 4096 / n)) { range in
            for r in range { SoftmaxRows.softmax(xp + r * n, yp + r * n, n) }
        }
    }

    public static func forward(_ x: Tensor) throws -> Tensor {
        var y = Tensor(zeros: [])
        try forward(x, into: &y)
        return y
    }

    /// Accumulates `dx += y ⊙ (dy − Σ dy⊙y)` (per row) from the forward output `y`.
    public static func backward(dy: Tensor, y: Tensor, dx: inout Tensor?) throws {
        guard case let (rows, n)? = try backwardRows(dy: dy, y: y, dx: dx, "Softmax.backward") else { return }
        let g = dy.data, yp = y.data, d = dx!.mutableData
        Parallel.forEach(rows, grain: max(1, 4096 / n)) { range in
            for r in range {
                let o = r * n
                let dot = VectorMath.dot(g + o, yp + o, n)
                for i in 0..<n { d[o + i] += yp[o + i] * (g[o + i] - dot) }
            }
        }
    }

    /// The checks of a backward pass from the forward output `y` (shared with
    /// `LogSoftmax`): `(rows, width)`, or nil when `dx` is not needed.
    static func backwardRows(dy: Tensor, y: Tensor, dx: Tensor?, _ op: String) throws -> (Int, Int)? {
        guard dy.shape == y.shape else {
            throw TensorError.shapeMismatch(op, dy.shape, y.shape, "dy must match the output y")
        }
        guard let dx else { return nil }
        try dx.expectShape(y.shape, op, "dx")
        return try rowsAndWidth(y, op)
    }

    /// `(rows, width)` of a tensor treated as rows of its last dimension.
    static func rowsAndWidth(_ x: Tensor, _ op: String) throws -> (Int, Int) {
        guard x.rank >= 1, let n = x.shape.last, n > 0 else {
            throw TensorError(op, "input needs a non-empty last dimension, got \(x.shape)")
        }
        return (x.count / n, n)
    }
}
