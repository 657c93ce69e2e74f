/// Reductions: totals, sums along an axis, maxima along the last axis.
///
/// Every result is computed in an order fixed by the shape alone (never by how work is split
/// across threads), so results are bit-identical for any thread count.
public enum Reduce {
    /// Totals are summed in fixed blocks of this many elements (float, 16 lanes), and the
    /// block partials in order in Double.
    static let blockSize = 4_096
    static let grain = 32_768

    /// Σ x (or Σ x²) over `n` contiguous floats.
    static func total(_ p: UnsafePointer<Float>, _ n: Int, squares: Bool) -> Double {
        let blocks = (n + blockSize - 1) / blockSize
        guard blocks > 1 else { return Double(contiguousSum(p, n, squares: squares)) }
        var partials = [Double](repeating: 0, count: blocks)
        partials.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            Parallel.forEach(blocks, grain: grain / blockSize) { range in
                for blk in range {
                    let start = blk * blockSize
                    out[blk] = Double(contiguousSum(p + start, Swift.min(blockSize, n - start), squares: squares))
                }
            }
        }
        return partials.reduce(0, +)
    }

    /// Σ p[i] (or Σ p[i]²) in 16 float lanes, then the lanes and the tail: a fixed order
    /// that the compiler can vectorise (a plain `s += p[i]` loop cannot be reordered).
    @inline(__always)
    static func contiguousSum(_ p: UnsafePointer<Float>, _ n: Int, squares: Bool) -> Float {
        let raw = UnsafeRawPointer(p)
        var lanes = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
            lanes += squares ? v * v : v
            i += 16
        }
        var s = lanes.sum()
        while i < n {
            s += squares ? p[i] * p[i] : p[i]
            i += 1
        }
        return s
    }

    /// `out = Σ x` along `axis` (negative counts from the end). With `keepDims` the axis stays
    /// as size 1, otherwise it is removed. `out` is resized (storage reused when possible).
    public static func sum(_ x: Tensor, axis: Int, keepDims: Bool = false, into out: inout Tensor) throws {
        let ax = try x.resolveAxis(axis, op: "sum(axis:)")
        let (outer, n, inner) = x.split(at: ax)
        var outShape = x.shape
        if keepDims { outShape[ax] = 1 } else { outShape.remove(at: ax) }
        let xp = x.data
        out.reuse(shape: outShape)
        let op = out.mutableData
        if outer * inner == 0 {
            // Nothing to write.
        } else if n == 0 {
            op.update(repeating: 0, count: outer * inner)
        } else if inner == 1 {
            // Summing along the last (contiguous) axis: one lane-wise sum per row.
            Parallel.forEach(outer, grain: Swift.max(1, grain / n)) { rows in
                for o in rows { op[o] = contiguousSum(xp + o * n, n, squares: false) }
            }
        } else if outer >= Parallel.threads {
            Parallel.forEach(outer, grain: Swift.max(1, grain / (n * inner))) { blocks in
                for o in blocks { sumSlabs(xp + o * n * inner, n, inner, 0..<inner, op + o * inner) }
            }
        } else {
            // Few outer blocks (e.g. a bias gradient over all rows): split the columns instead.
            for o in 0..<outer {
                Parallel.forEach(inner, grain: Swift.max(16, grain / n)) { cols in
                    sumSlabs(xp + o * n * inner, n, inner, cols, op + o * inner)
                }
            }
        }
        withExtendedLifetime(x) {}
    }

    /// `out[c] = Σ_k x[k·inner + c]` for the columns in `cols`. Rows are added four at a time
    /// (one load and store of `out` per four rows), in an order fixed by `n` alone.
    @inline(__always)
    static func sumSlabs(_ x: UnsafePointer<Float>, _ n: Int, _ inner: Int, _ cols: Range<Int>,
                         _ out: UnsafeMutablePointer<Float>) {
        for c in cols { out[c] = x[c] }
        var k = 1
        while k + 4 <= n {
            let r0 = x + k * inner, r1 = r0 + inner, r2 = r1 + inner, r3 = r2 + inner
            for c in cols { out[c] += (r0[c] + r1[c]) + (r2[c] + r3[c]) }
            k += 4
        }
        while k < n {
            let row = x + k * inner
            for c in cols { out[c] += row[c] }
            k += 1
        }
    }

    /// Maximum and first index of the maximum along the last axis. NaN never wins (unless
    /// it is a row's first element). `values` is resized to the leading shape (plus a trailing
    /// 1 with `keepDims`); `indices` gets one entry per row.
    public static func max(_ x: Tensor, keepDims: Bool = false, into values: inout Tensor,
                           indices: inout [Int32]) throws {
        guard let d = x.shape.last, d > 0 else {
            throw TensorError("max", "needs a non-empty last axis, shape is \(x.shape)")
        }
        guard d <= Int(Int32.max) else {
            throw TensorError("max", "last axis of shape \(x.shape) is too long for Int32 indices")
        }
        let rows = x.count / d
        values.reuse(shape: Array(x.shape.dropLast()) + (keepDims ? [1] : []))
        indices = [Int32](repeating: 0, count: rows)
        let xp = x.data, vp = values.mutableData
        indices.withUnsafeMutableBufferPointer { idx in
            let ip = idx.baseAddress!
            Parallel.forEach(rows, grain: Swift.max(1, grain / d)) { range in
                for r in range {
                    let row = xp + r * d
                    var best = row[0], at = 0
                    for j in 1..<d where row[j] > best {
                        best = row[j]
                        at = j
                    }
                    vp[r] = best
                    ip[r] = Int32(at)
                }
            }
        }
        withExtendedLifetime(x) {}
    }
}

extension Tensor {
    /// Σ of all elements (Double accumulation of float blocks; 0 for an empty tensor).
    public func sum() -> Float { Float(Reduce.total(data, count, squares: false)) }

    /// Mean of all elements (NaN for an empty tensor).
    public func mean() -> Float { Float(Reduce.total(data, count, squares: false) / Double(count)) }

    /// Σ x² over all elements.
    public func sumOfSquares() -> Float { Float(Reduce.total(data, count, squares: true)) }

    /// Euclidean (Frobenius) norm of all elements.
    public func norm() -> Float { Float(Reduce.total(data, count, squares: true).squareRoot()) }

    /// Σ along `axis` (negative counts from the end).
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor {
        var out = Tensor(zeros: [])
        try Reduce.sum(self, axis: axis, keepDims: keepDims, into: &out)
        return out
    }

    /// Mean along `axis` (NaN where the axis is empty).
    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor {
        var out = try sum(axis: axis, keepDims: keepDims)
        let n = Float(shape[try resolveAxis(axis, op: "mean(axis:)")])
        let p = out.mutableData
        Elementwise.map(out.count, UnsafePointer(p), p, grain: Elementwise.memoryGrain, DivideBy(divisor: n))
        return out
    }

    /// Maximum along the last axis.
    public func maxAlongLastAxis(keepDims: Bool = false) throws -> Tensor {
        var values = Tensor(zeros: []), indices = [Int32]()
        try Reduce.max(self, keepDims: keepDims, into: &values, indices: &indices)
        return values
    }

    /// Index of the (first) maximum along the last axis, one per row (e.g. greedy decoding).
    public func argmaxAlongLastAxis() throws -> [Int32] {
        var values = Tensor(zeros: []), indices = [Int32]()
        try Reduce.max(self, into: &values, indices: &indices)
        return indices
    }
}
