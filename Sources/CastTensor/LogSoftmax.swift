import Foundation

/// Log-softmax over the last dimension: `y = x − log Σ exp(x)` per row, computed through the
/// row maximum so large logits do not overflow.
public enum LogSoftmax {
    public static func forward(_ x: Tensor, into y: inout Tensor) throws {
        let (rows, n) = try Softmax.rowsAndWidth(x, "LogSoftmax.forward")
        y.reuse(shape: x.shape)
        let xp = x.data, yp = y.mutableData
        Parallel.forEach(rows, grain: max(1, 4096 / n)) { range in
            for r in range {
                let o = r * n
                let lse = SoftmaxRows.logSumExp(xp + o, n)
                for i in 0..<n { yp[o + i] = xp[o + i] - lse }
            }
        }
    }

    public static func forward(_ x: Tensor) throws -> Tensor {
        var y = Tensor(zeros: [])
        try forward(x, into: &y)
        return y
    }

    /// Accumulates `dx += dy − exp(y)·Σ dy` (per row) from the forward output `y`.
    public static func backward(dy: Tensor, y: Tensor, dx: inout Tensor?) throws {
        guard case let (rows, n)? = try Softmax.backwardRows(dy: dy, y: y, dx: dx, "LogSoftmax.backward") else { return }
        let g = dy.data, yp = y.data, d = dx!.mutableData
        Parallel.forEach(rows, grain: max(1, 4096 / n)) { range in
            for r in range {
                let o = r * n
                let total = VectorMath.sum(g + o, n)
                for i in 0..<n { d[o + i] += g[o + i] - Foundation.exp(yp[o + i]) * total }
            }
        }
    }
}
