import Foundation

/// Softmax and log-sum-exp on one contiguous row of floats, shared by softmax, log-softmax,
/// the losses and attention; built on the lane kernels of `VectorMath`, so the same row
/// always gives bit-identical output, whatever thread runs it.
enum SoftmaxRows {
    private typealias V = VectorMath

    /// `Σ exp(scale·src[i] − shift)`, each term also written to `dst[i]` when `dst` is given
    /// (it may equal `src`).
    static func expSum(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>? = nil, _ n: Int,
                       scale: Float = 1, shift: Float) -> Float {
        var sum = V.Lanes(repeating: 0)
        var i = 0
        while i + V.width <= n {
            let e = V.exp(V.load(src + i) * scale - shift)
            if let dst { V.store(e, dst + i) }
            sum += e
            i += V.width
        }
        if i < n {
            let e = V.exp(V.loadTail(src + i, n - i, fill: -.infinity) * scale - shift)
            if let dst { V.storeTail(e, dst + i, n - i) }
            sum += e
        }
        return sum.sum()
    }

    /// `p[i] *= s`.
    static func scale(_ p: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        var i = 0
        while i + V.width <= n { V.store(V.load(p + i) * s, p + i); i += V.width }
        while i < n { p[i] *= s; i += 1 }
    }

    /// Softmax of `x[0..<n]` into `y` (may equal `x`), shifted by the row maximum for
    /// stability; `scale` multiplies the logits first (1/temperature).
    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                        scale: Float = 1) {
        guard n > 0 else { return }
        let m = V.max(x, n) * scale
        let total = expSum(x, into: y, n, scale: scale, shift: m)
        self.scale(y, n, by: 1 / total)
    }

    /// `log Σ exp(scale·x[i])`, stable.
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, scale: Float = 1) -> Float {
        let m = V.max(x, n) * scale
        if m == -.infinity { return -.infinity }
        return m + Foundation.log(expSum(x, n, scale: scale, shift: m))
    }
}
