/// Small float kernels shared by softmax rows, the norms, the activations and the losses:
/// row reductions in 8 SIMD lanes and an `exp` built only from arithmetic.
///
/// Row kernels pad the last partial vector (`loadTail`) instead of finishing with a scalar
/// loop, so the order of float operations depends only on the row length: the same input
/// always gives bit-identical output, whatever thread runs it or how the row is aligned.
enum VectorMath {
    typealias Lanes = SIMD8<Float>
    static let width = Lanes.scalarCount

    // MARK: lanes

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

    // MARK: row reductions

    /// Σ x[i]
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0), i = 0
        while i + width <= n { acc += load(x + i); i += width }
        if i < n { acc += loadTail(x + i, n - i, fill: 0) }
        return acc.sum()
    }

    /// Σ (x[i] − center)²
    @inline(__always)
    static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int, center: Float = 0) -> Float {
        var acc = Lanes(repeating: 0), i = 0
        let c = Lanes(repeating: center)
        while i + width <= n { let v = load(x + i) - c; acc += v * v; i += width }
        if i < n { let v = loadTail(x + i, n - i, fill: center) - c; acc += v * v }
        return acc.sum()
    }

    /// Σ a[i]·b[i]
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Lanes(repeating: 0), i = 0
        while i + width <= n { acc += load(a + i) * load(b + i); i += width }
        if i < n { acc += loadTail(a + i, n - i, fill: 0) * loadTail(b + i, n - i, fill: 0) }
        return acc.sum()
    }

    /// Σ a[i]·b[i]·(c[i] − center)
    @inline(__always)
    static func dot3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                     _ n: Int, center: Float = 0) -> Float {
        var acc = Lanes(repeating: 0), i = 0
        let m = Lanes(repeating: center)
        while i + width <= n { acc += load(a + i) * load(b + i) * (load(c + i) - m); i += width }
        if i < n {
            let k = n - i
            acc += loadTail(a + i, k, fill: 0) * loadTail(b + i, k, fill: 0) * (loadTail(c + i, k, fill: center) - m)
        }
        return acc.sum()
    }

    @inline(__always)
    static func larger(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }

    /// Largest element of `p[0..<n]` (−∞ for an empty row).
    static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Lanes(repeating: -.infinity), i = 0
        while i + width <= n { m = larger(m, load(p + i)); i += width }
        if i < n { m = larger(m, loadTail(p + i, n - i, fill: -.infinity)) }
        return m.max()
    }

    // MARK: exp

    /// Below this, eˣ is under the smallest normal float.
    static let expLow: Float = -87.33654

    /// eˣ per lane. Inputs below `expLow` give exactly 0 (so −∞ masks work); inputs above 88
    /// saturate at e⁸⁸. Relative error < 3e-7 (tested over [−87, 88]).
    @inline(__always)
    static func exp(_ x: Lanes) -> Lanes {
        // Masked selects, not clamped()/pointwiseMin: those are stdlib calls in the loop.
        let clamped = x.replacing(with: expLow, where: x .< expLow).replacing(with: 88, where: x .> 88)
        return expOfClamped(clamped).replacing(with: 0, where: x .< expLow)
    }

    /// eˣ for one float, from the same polynomial; no libm call, so loops over it
    /// auto-vectorise. Clamped to [−87, 88], so never inf, 0 or subnormal.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        expOfClamped(x < -87 ? -87 : (x > 88 ? 88 : x))
    }

    /// eˣ for x already within [expLow, 88]: Cody–Waite range reduction x = k·ln2 + r
    /// (|r| ≤ ln2/2), a degree-6 polynomial for eʳ, and 2ᵏ put straight into the exponent bits.
    @inline(__always)
    private static func expOfClamped<V: ExpArithmetic>(_ x: V) -> V {
        // Adding 1.5·2²³ rounds to an integer (round-to-nearest) kept in the low mantissa bits.
        let magic: Float = 12_582_912
        let shifted = x * 1.442_695_04 + magic
        let k = shifted - magic
        var r = x - k * 0.693_359_375
        r = r - k * -2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let y = p * (r * r) + r + 1
        return y * V.twoToThe(shifted: shifted)
    }

    /// 1 / (1 + e⁻ˣ)
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// 1 / (1 + e⁻ˣ) per lane: the same bits as the scalar version (the two exps differ only
    /// below e⁻⁸⁷, where 1 + e⁻ˣ rounds to 1 either way).
    @inline(__always)
    static func sigmoid(_ x: Lanes) -> Lanes { 1 / (1 + exp(-x)) }

    // MARK: work split for Parallel.forEach

    /// Rows per parallel chunk for row kernels of width `d` (about 16K elements).
    @inline(__always)
    static func rowGrain(_ d: Int) -> Int { Swift.max(1, (1 << 14) / Swift.max(d, 1)) }

    /// Columns per parallel chunk for the column-split weight-gradient reductions.
    static let columnGrain = 64

    /// Elements per parallel chunk for the elementwise kernels.
    static let elementwiseGrain = 1 << 15
}

/// The arithmetic `VectorMath.exp` needs, common to one float and a vector of lanes, so its
/// polynomial is written once for both.
protocol ExpArithmetic {
    init(repeating value: Float)
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func + (a: Self, b: Float) -> Self
    static func - (a: Self, b: Float) -> Self
    static func * (a: Self, b: Float) -> Self
    /// 2ᵏ from `k + 1.5·2²³`: the low 9 bits of that float's pattern, plus the exponent
    /// bias, become the exponent field.
    static func twoToThe(shifted: Self) -> Self
}

extension Float: ExpArithmetic {
    init(repeating value: Float) { self = value }

    @inline(__always)
    static func twoToThe(shifted: Float) -> Float {
        Float(bitPattern: (shifted.bitPattern &+ 127) &<< 23)
    }
}

extension SIMD8: ExpArithmetic where Scalar == Float {
    @inline(__always)
    static func twoToThe(shifted: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self)
        return unsafeBitCast((bits &+ 127) &<< 23, to: SIMD8<Float>.self)
    }
}
