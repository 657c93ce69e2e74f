/// Small float kernels shared by the layer operations: row reductions in SIMD lanes and an
/// `exp` built only from arithmetic, so the loops that call it auto-vectorise.
///
/// Every function here performs a fixed sequence of float operations for a given length,
/// independent of threads or alignment, so callers stay bit-reproducible.
enum VectorMath {
    @inline(__always)
    static func lanes(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Σ x[i]
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(), i = 0
        while i + 8 <= n { acc += lanes(x, i); i += 8 }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ (x[i] − center)²
    @inline(__always)
    static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int, center: Float = 0) -> Float {
        var acc = SIMD8<Float>(), i = 0
        let c = SIMD8<Float>(repeating: center)
        while i + 8 <= n { let v = lanes(x, i) - c; acc += v * v; i += 8 }
        var s = acc.sum()
        while i < n { let v = x[i] - center; s += v * v; i += 1 }
        return s
    }

    /// Σ a[i]·b[i]
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(), i = 0
        while i + 8 <= n { acc += lanes(a, i) * lanes(b, i); i += 8 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Σ a[i]·b[i]·(c[i] − center)
    @inline(__always)
    static func dot3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                     _ n: Int, center: Float = 0) -> Float {
        var acc = SIMD8<Float>(), i = 0
        let m = SIMD8<Float>(repeating: center)
        while i + 8 <= n { acc += lanes(a, i) * lanes(b, i) * (lanes(c, i) - m); i += 8 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i] * (c[i] - center); i += 1 }
        return s
    }

    /// eˣ to about 2 ulp for x in [−87, 88] (clamped outside, so never inf or subnormal).
    /// Cody–Waite range reduction x = n·ln2 + r, a degree-6 polynomial for eʳ, and 2ⁿ put
    /// straight into the exponent bits; no libm call, so loops over it vectorise.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let x = x < -87 ? -87 : (x > 88 ? 88 : x)
        // Adding 1.5·2²³ rounds to an integer kept in the low mantissa bits.
        let shifter: Float = 12_582_912
        let t = x * 1.442_695_04 + shifter
        let n = t - shifter
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * (r * r) + r + 1
        let scale = Float(bitPattern: (t.bitPattern &- shifter.bitPattern &+ 127) &<< 23)
        return er * scale
    }

    /// 1 / (1 + e⁻ˣ)
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    // MARK: work split for Parallel.forEach

    /// Rows per parallel chunk for row kernels of width `d` (about 16K elements).
    @inline(__always)
    static func rowGrain(_ d: Int) -> Int { max(1, (1 << 14) / max(d, 1)) }

    /// Columns per parallel chunk for the column-split weight-gradient reductions.
    static let columnGrain = 64

    /// Elements per parallel chunk for the elementwise kernels.
    static let elementwiseGrain = 1 << 15
}
