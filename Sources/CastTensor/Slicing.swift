/// Slicing, concatenation and row gathering. Results are new contiguous tensors.
extension Tensor {
    /// The elements whose index along `axis` lies in `range` (negative `axis` counts from the end).
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        var out = Tensor(zeros: [])
        try Tensor.slice(self, axis: axis, range, into: &out)
        return out
    }

    /// `out = x.sliced(axis:range)`, reusing `out`'s storage when possible.
    public static func slice(_ x: Tensor, axis: Int, _ range: Range<Int>, into out: inout Tensor) throws {
        let ax = try x.resolveAxis(axis, op: "sliced")
        let (outer, n, inner) = x.split(at: ax)
        guard range.lowerBound >= 0, range.upperBound <= n else {
            throw TensorError("sliced", "range \(range) is out of bounds for axis \(axis) of shape \(x.shape)")
        }
        var outShape = x.shape
        outShape[ax] = range.count
        let src = x.data + range.lowerBound * inner
        out.reuse(shape: outShape)
        let block = range.count * inner
        guard block > 0, outer > 0 else { return }
        let dst = out.mutableData
        Parallel.forEach(outer, grain: Swift.max(1, Elementwise.memoryGrain / block)) { blocks in
            for o in blocks { (dst + o * block).update(from: src + o * n * inner, count: block) }
        }
        withExtendedLifetime(x) {}
    }

    /// Rows `range` along the first axis.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        try sliced(axis: 0, range)
    }

    /// Row `i` along the first axis, with that axis removed (`[n, d] → [d]`).
    public func row(_ i: Int) throws -> Tensor {
        guard rank >= 1, i >= 0, i < shape[0] else {
            throw TensorError("row", "row \(i) is out of range for shape \(shape)")
        }
        return try sliced(axis: 0, i..<(i + 1)).reshaped(Array(shape.dropFirst()))
    }

    /// `parts` joined along `axis`; every other dimension must agree.
    public static func concatenated(_ parts: [Tensor], axis: Int) throws -> Tensor {
        var out = Tensor(zeros: [])
        try concatenate(parts, axis: axis, into: &out)
        return out
    }

    /// `out = concatenated(parts, axis:)`, reusing `out`'s storage when possible.
    public static func concatenate(_ parts: [Tensor], axis: Int, into out: inout Tensor) throws {
        guard let first = parts.first else {
            throw TensorError("concatenated", "needs at least one tensor")
        }
        let ax = try first.resolveAxis(axis, op: "concatenated")
        for part in parts.dropFirst() {
            var a = first.shape, b = part.shape
            guard a.count == b.count else {
                throw TensorError.shapeMismatch("concatenated", first.shape, part.shape, "ranks differ")
            }
            a[ax] = 0
            b[ax] = 0
            guard a == b else {
                throw TensorError.shapeMismatch("concatenated", first.shape, part.shape,
                                                "dimensions other than axis \(axis) differ")
            }
        }
        let (outer, _, inner) = first.split(at: ax)
        var outShape = first.shape
        outShape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        // Per outer index, each part contributes one contiguous block, in order.
        let blocks = parts.map { (pointer: $0.data, length: $0.shape[ax] * inner) }
        out.reuse(shape: outShape)
        let rowLength = outShape[ax] * inner
        guard rowLength > 0, outer > 0 else { return }
        let dst = out.mutableData
        Parallel.forEach(outer, grain: Swift.max(1, Elementwise.memoryGrain / rowLength)) { range in
            for o in range {
                var d = dst + o * rowLength
                for (p, length) in blocks {
                    d.update(from: p + o * length, count: length)
                    d += length
                }
            }
        }
        withExtendedLifetime(parts) {}
    }

    /// Rows of the first axis picked by `indices` (an embedding lookup):
    /// `[n, ...] → [indices.count, ...]`.
    public func gatheringRows(_ indices: [Int32]) throws -> Tensor {
        var out = Tensor(zeros: [])
        try GatherRows.forward(table: self, indices: indices, into: &out)
        return out
    }
}

/// `y[i] = table[indices[i]]` along the first axis (embedding lookup), with its backward.
public enum GatherRows {
    public static func forward(table: Tensor, indices: [Int32], into y: inout Tensor) throws {
        let d = try check(table, indices, "GatherRows")
        y.reuse(shape: [indices.count] + table.shape.dropFirst())
        guard d > 0 else { return }
        let src = table.data, dst = y.mutableData
        indices.withUnsafeBufferPointer { idx in
            Parallel.forEach(idx.count, grain: Swift.max(1, Elementwise.memoryGrain / d)) { range in
                for i in range { (dst + i * d).update(from: src + Int(idx[i]) * d, count: d) }
            }
        }
    }

    /// Accumulates `dTable[indices[i]] += dy[i]`. Rows that repeat are added in index order,
    /// and the columns (not the rows) are split across cores, so the result is deterministic.
    public static func backward(dy: Tensor, indices: [Int32], dTable: inout Tensor?) throws {
        guard dTable != nil else { return }
        let d = try check(dTable!, indices, "GatherRows.backward")
        try dy.expectShape([indices.count] + dTable!.shape.dropFirst(), "GatherRows.backward", "dy")
        guard d > 0 else { return }
        let g = dy.data, dst = dTable!.mutableData
        indices.withUnsafeBufferPointer { idx in
            Parallel.forEach(d, grain: Swift.max(16, Elementwise.memoryGrain / Swift.max(idx.count, 1))) { cols in
                for i in 0..<idx.count {
                    let from = g + i * d, to = dst + Int(idx[i]) * d
                    for c in cols { to[c] += from[c] }
                }
            }
        }
    }

    /// Validates the indices against the table; returns the row length.
    private static func check(_ table: Tensor, _ indices: [Int32], _ op: String) throws -> Int {
        guard table.rank >= 1 else {
            throw TensorError(op, "table needs at least 1 dimension, shape is \(table.shape)")
        }
        let rows = table.shape[0]
        if let bad = indices.firstIndex(where: { $0 < 0 || Int($0) >= rows }) {
            throw TensorError(op, "index \(indices[bad]) at position \(bad) is out of range for table shape \(table.shape)")
        }
        return table.count / Swift.max(rows, 1)
    }
}
