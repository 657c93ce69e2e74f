import Foundation

/// Vectorised kernels on one contiguous row of floats, shared by softmax, log-softmax, the
/// losses and attention.
///
/// Each works on 8 lanes at a time (`SIMD8<Float>`), with the tail padded into one more
/// vector, so the order of float operations depends only on the row length: the same input
/// always gives bit-identical output, whatever thread runs it.
enum SoftmaxRows {
    typealias Lanes = SIMD8<Float>
    static let width = Lanes.scalarCount

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
    }

    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
    }

    /// The last `count` (< 8) elements as one vector, `fill` in the unused lanes.
    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ count: Int, fill: Float) -> Lanes {
        var v = Lanes(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { p[i] = v[i] }
    }

    /// eˣ per lane (Cephes-style: x = k·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, scaled by
    /// 2ᵏ through the exponent bits). Relative error < 3e-7 (tested over [−87, 88]); inputs below −87.3 give exactly
    /// 0 (so −∞ masks work), inputs above 88 saturate at e⁸⁸.
    @inline(__always)
    static func exp(_ x: Lanes) -> Lanes {
        let low: Float = -87.33654
        // Masked selects, not clamped()/pointwiseMin: those are stdlib calls in the loop.
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: 88, where: x .> 88)
        // Adding 1.5·2²³ rounds to an integer (round-to-nearest) and leaves k in the low bits.
        let magic: Float = 12_582_912
        let shifted = clamped * 1.442_695_04 + magic
        let k = shifted - magic
        var r = clamped - k * 0.693_359_375
        r = r - k * -2.121_944_4e-4
        var p = Lanes(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * (r * r) + r + 1
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self)
        let twoToK = unsafeBitCast((bits &+ 127) &<< 23, to: Lanes.self)
        return (y * twoToK).replacing(with: 0, where: x .< low)
    }

    @inline(__always)
    static func larger(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }

    /// Largest element of `p[0..<n]` (−∞ for an empty row).
    static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Lanes(repeating: -.infinity)
        var i = 0
        while i + width <= n { m = larger(m, load(p + i)); i += width }
        if i < n { m = larger(m, loadTail(p + i, n - i, fill: -.infinity)) }
        return m.max()
    }

    /// `dst[i] = exp(scale·src[i] − shift)`; returns the sum of what it wrote.
    /// `dst` may equal `src`.
    static func expSum(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                       scale: Float = 1, shift: Float) -> Float {
        var sum = Lanes(repeating: 0)
        var i = 0
        while i + width <= n {
            let e = exp(load(src + i) * scale - shift)
            store(e, dst + i)
            sum += e
            i += width
        }
        if i < n {
            let e = exp(loadTail(src + i, n - i, fill: -.infinity) * scale - shift)
            storeTail(e, dst + i, n - i)
            sum += e
        }
        return sum.sum()
    }

    /// `Σ exp(scale·src[i] − shift)` without storing anything.
    static func expSum(_ src: UnsafePointer<Float>, _ n: Int, scale: Float = 1, shift: Float) -> Float {
        var sum = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { sum += exp(load(src + i) * scale - shift); i += width }
        if i < n { sum += exp(loadTail(src + i, n - i, fill: -.infinity) * scale - shift) }
        return sum.sum()
    }

    /// `p[i] *= s`.
    static func scale(_ p: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
        var i = 0
        while i + width <= n { store(load(p + i) * s, p + i); i += width }
        while i < n { p[i] *= s; i += 1 }
    }

    /// `Σ a[i]·b[i]`.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var sum = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { sum += load(a + i) * load(b + i); i += width }
        if i < n { sum += loadTail(a + i, n - i, fill: 0) * loadTail(b + i, n - i, fill: 0) }
        return sum.sum()
    }

    /// `Σ a[i]`.
    static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var sum = Lanes(repeating: 0)
        var i = 0
        while i + width <= n { sum += load(a + i); i += width }
        if i < n { sum += loadTail(a + i, n - i, fill: 0) }
        return sum.sum()
    }

    /// Softmax of `x[0..<n]` into `y` (may equal `x`), shifted by the row maximum for
    /// stability; `scale` multiplies the logits first (1/temperature).
    static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                        scale: Float = 1) {
        guard n > 0 else { return }
        let m = max(x, n) * scale
        let total = expSum(x, y, n, scale: scale, shift: m)
        self.scale(y, n, by: 1 / total)
    }

    /// `log Σ exp(scale·x[i])`, stable.
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, scale: Float = 1) -> Float {
        let m = max(x, n) * scale
        if m == -.infinity { return -.infinity }
        return m + Foundation.log(expSum(x, n, scale: scale, shift: m))
    }
}
