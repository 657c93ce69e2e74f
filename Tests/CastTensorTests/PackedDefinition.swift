@testable import CastTensor

/// The packed products' definitions, written out in Swift operation by operation (each
/// `addingProduct` is one fused multiply-add, as `fmaf` in the C kernels), so every kernel
/// path can be checked against them bit for bit.
struct PackedDefinition {
    let rows: Int, columns: Int, group: Int
    let q: [Int8], scales: [Float], offsets: [Float]

    init(rows: Int, columns: Int, group: Int, q: [Int8], scales: [Float], offsets: [Float]) {
        (self.rows, self.columns, self.group) = (rows, columns, group)
        (self.q, self.scales, self.offsets) = (q, scales, offsets)
    }

    /// W[n, k] = q·scale − offset, one rounding.
    func weight(_ n: Int, _ k: Int) -> Float {
        let g = n * (columns / group) + k / group
        return (-offsets[g]).addingProduct(Float(q[n * columns + k]), scales[g])
    }

    /// y[r·ldy + n] (+)= Σ_k x[r·ldx + k]·W[n, k], summed over k in order; the rest of y
    /// (columns n ≥ rows of each y row) is left as it was.
    func product(x: [Float], ldx: Int, m: Int, y: [Float], ldy: Int, accumulate: Bool) -> [Float] {
        var out = y
        for r in 0..<m {
            for n in 0..<rows {
                var acc: Float = accumulate ? y[r * ldy + n] : 0
                for k in 0..<columns { acc = acc.addingProduct(x[r * ldx + k], weight(n, k)) }
                out[r * ldy + n] = acc
            }
        }
        return out
    }

    /// One row's group of x rounded to 8 bits: d = max|x|/127, xq = round(x·(1/d)) (ties to
    /// even); returns xq, d and d·Σxq.
    static func quantize(_ x: ArraySlice<Float>) -> (xq: [Int], d: Float, dSum: Float) {
        let amax = x.reduce(Float(0)) { max($0, abs($1)) }
        let d = amax / 127, inverse: Float = d != 0 ? 1 / d : 0
        let xq = x.map { Int(($0 * inverse).rounded(.toNearestOrEven)) }
        return (xq, d, d * Float(xq.reduce(0, +)))
    }

    /// The int8 product: per group, acc += Σxq·q · (scale·d), then acc −= offset · (d·Σxq),
    /// the integer sum exact.
    func int8Product(x: [Float], ldx: Int, m: Int, y: [Float], ldy: Int, accumulate: Bool) -> [Float] {
        var out = y
        let groups = columns / group
        for r in 0..<m {
            let quantized = (0..<groups).map { g in
                Self.quantize(x[(r * ldx + g * group)..<(r * ldx + (g + 1) * group)])
            }
            for n in 0..<rows {
                var acc: Float = accumulate ? y[r * ldy + n] : 0
                for g in 0..<groups {
                    let (xq, d, dSum) = quantized[g]
                    var dot = 0
                    for k in 0..<group { dot += xq[k] * Int(q[n * columns + g * group + k]) }
                    let sg = n * groups + g
                    acc = acc.addingProduct(Float(dot), scales[sg] * d)
                    acc = acc.addingProduct(-offsets[sg], dSum)
                }
                out[r * ldy + n] = acc
            }
        }
        return out
    }
}
