/// Axis permutations. Tensors are always contiguous, so these copy into new storage; the
/// gradient of a permutation is the inverse permutation (`Tensor.inversePermutation`).
extension Tensor {
    /// Swaps the last two axes, batched over the leading ones: `[..., m, n] → [..., n, m]`.
    public func transposed() throws -> Tensor {
        var out = Tensor(zeros: [])
        try Tensor.transpose(self, into: &out)
        return out
    }

    /// `out = x.transposed()`, reusing `out`'s storage when possible (fresh large buffers
    /// cost page faults on this VM: `a + b` into a new 16 MB tensor measured 2–5× slower
    /// than into a reused one).
    public static func transpose(_ x: Tensor, into out: inout Tensor) throws {
        guard x.rank >= 2 else {
            throw TensorError("transposed", "needs at least 2 dimensions, shape is \(x.shape)")
        }
        let (m, n) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
        let batch = x.count / Swift.max(m * n, 1)
        let src = x.data
        out.reuse(shape: Array(x.shape.dropLast(2)) + [n, m])
        guard x.count > 0 else { return }
        let dst = out.mutableData
        // 16×16 tiles, written one output row (one cache line) at a time: power-of-two row
        // strides make bigger tiles or row-ordered writes thrash the cache (measured ~2×).
        let tile = 16
        let rowTiles = (m + tile - 1) / tile
        Parallel.forEach(batch * rowTiles, grain: Swift.max(1, Elementwise.memoryGrain / (tile * n))) { units in
            for unit in units {
                let b = unit / rowTiles, i0 = (unit % rowTiles) * tile
                let s = src + b * m * n, d = dst + b * m * n
                let iEnd = Swift.min(i0 + tile, m)
                var j0 = 0
                while j0 < n {
                    let jEnd = Swift.min(j0 + tile, n)
                    for j in j0..<jEnd {
                        for i in i0..<iEnd { d[j * m + i] = s[i * n + j] }
                    }
                    j0 = jEnd
                }
            }
        }
        withExtendedLifetime(x) {}
    }

    /// Reorders the axes: output axis `i` is input axis `axes[i]` (numpy `transpose(axes)`).
    /// Negative entries count from the end. Throws unless `axes` is a permutation of the axes.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        var out = Tensor(zeros: [])
        try Tensor.permute(self, axes, into: &out)
        return out
    }

    /// `out = x.permuted(axes)`, reusing `out`'s storage when possible.
    public static func permute(_ x: Tensor, _ axes: [Int], into out: inout Tensor) throws {
        let (shape, rank) = (x.shape, x.rank)
        let resolved = axes.map { $0 < 0 ? $0 + rank : $0 }
        guard resolved.count == rank, Set(resolved) == Set(0..<rank) else {
            throw TensorError("permuted", "axes \(axes) are not a permutation of the axes of shape \(shape)")
        }
        if rank >= 2, resolved == Array(0..<(rank - 2)) + [rank - 1, rank - 2] {
            return try transpose(x, into: &out)
        }

        // For each output axis: its size and the input stride it walks.
        var inStrides = [Int](repeating: 1, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) { inStrides[k] = inStrides[k + 1] * shape[k + 1] }
        var dims: [(size: Int, stride: Int)] = []
        for a in resolved where shape[a] != 1 {
            // Merge with the previous output axis when the two are contiguous in the input too.
            if let last = dims.last, last.stride == inStrides[a] * shape[a] {
                dims[dims.count - 1] = (last.size * shape[a], inStrides[a])
            } else {
                dims.append((shape[a], inStrides[a]))
            }
        }
        let src = x.data
        out.reuse(shape: resolved.map { shape[$0] })
        guard x.count > 0 else { return }
        let dst = out.mutableData
        // An identity permutation merges into one contiguous run: a plain copy.
        let (inner, innerStride) = dims.last ?? (1, 1)
        let outer = dims.dropLast()
        Parallel.forEach(x.count / inner, grain: Swift.max(1, Elementwise.memoryGrain / inner)) { rows in
            for r in rows {
                var rest = r, offset = 0
                for (size, stride) in outer.reversed() {
                    offset += (rest % size) * stride
                    rest /= size
                }
                let s = src + offset, d = dst + r * inner
                if innerStride == 1 {
                    d.update(from: s, count: inner)
                } else {
                    for j in 0..<inner { d[j] = s[j * innerStride] }
                }
            }
        }
        withExtendedLifetime(x) {}
    }

    /// The permutation that undoes `axes` (`x.permuted(p).permuted(inversePermutation(p)) == x`).
    public static func inversePermutation(_ axes: [Int]) throws -> [Int] {
        let n = axes.count
        let resolved = axes.map { $0 < 0 ? $0 + n : $0 }
        guard Set(resolved) == Set(0..<n) else {
            throw TensorError("inversePermutation", "\(axes) is not a permutation of 0..<\(n)")
        }
        var inverse = [Int](repeating: 0, count: n)
        for (i, a) in resolved.enumerated() { inverse[a] = i }
        return inverse
    }
}
