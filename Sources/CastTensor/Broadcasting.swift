/// Numpy broadcasting of two shapes, reduced to the few loops the kernels need.
///
/// Shapes are aligned at their trailing dimensions; a dimension of 1 (or a missing leading
/// one) stretches to the other operand's size. The plan then drops size-1 output dimensions
/// and merges neighbouring dimensions in which both operands behave alike (both present, or
/// one broadcast), so a same-shape pair becomes one flat loop and `[rows, d] + [d]` becomes
/// "rows × d with the second operand's row stride 0" (the bias case).
struct BroadcastPlan {
    /// The broadcast result shape (numpy rules).
    let outShape: [Int]
    /// Merged output dimensions (no size-1 entries); their product is the output count.
    let dims: [Int]
    /// Per merged dimension: the element stride in each operand, 0 where it is broadcast.
    let aStrides: [Int]
    let bStrides: [Int]

    var count: Int { outShape.reduce(1, *) }
    /// Length of the innermost merged dimension (1 when every dimension is broadcast away).
    var inner: Int { dims.last ?? 1 }
    /// Number of innermost runs, i.e. `count / inner`.
    var outerCount: Int { dims.dropLast().reduce(1, *) }
    /// Whether the operand advances along the innermost dimension (stride 1) or repeats
    /// one element (stride 0).
    var aInnerStride: Int { aStrides.last ?? 1 }
    var bInnerStride: Int { bStrides.last ?? 1 }
    var aKeeps: [Bool] { aStrides.map { $0 != 0 } }
    var bKeeps: [Bool] { bStrides.map { $0 != 0 } }

    init(_ a: [Int], _ b: [Int], op: String) throws {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out = [Int]()
        var merged: [(size: Int, aIn: Bool, bIn: Bool)] = []
        for i in 0..<rank {
            let (da, db) = (pa[i], pb[i])
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch(op, a, b, "shapes cannot be broadcast together (dimension \(i - rank) is \(da) vs \(db))")
            }
            let size = da == 1 ? db : da
            out.append(size)
            if size == 1 { continue }  // contributes nothing to the iteration
            let aIn = da != 1, bIn = db != 1
            if let last = merged.last, last.aIn == aIn, last.bIn == bIn {
                merged[merged.count - 1].size *= size
            } else {
                merged.append((size, aIn, bIn))
            }
        }
        outShape = out
        dims = merged.map(\.size)
        aStrides = Self.strides(merged.map { ($0.size, $0.aIn) })
        bStrides = Self.strides(merged.map { ($0.size, $0.bIn) })
    }

    /// Row-major strides over the dimensions an operand has; 0 for the ones it lacks.
    private static func strides(_ dims: [(size: Int, present: Bool)]) -> [Int] {
        var result = [Int](repeating: 0, count: dims.count)
        var stride = 1
        for k in dims.indices.reversed() where dims[k].present {
            result[k] = stride
            stride *= dims[k].size
        }
        return result
    }

    /// Element offsets in each operand of the start of innermost run `row`.
    @inline(__always)
    func offsets(ofRow row: Int) -> (a: Int, b: Int) {
        var rest = row, a = 0, b = 0
        var k = dims.count - 2
        while k >= 0 {
            let i = rest % dims[k]
            rest /= dims[k]
            a += i * aStrides[k]
            b += i * bStrides[k]
            k -= 1
        }
        return (a, b)
    }
}

extension Tensor {
    /// The shape `a` and `b` broadcast to under numpy rules; throws naming both shapes.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        try BroadcastPlan(a, b, op: "broadcast").outShape
    }

    /// This tensor materialised at a larger, broadcast-compatible shape.
    public func broadcast(to target: [Int]) throws -> Tensor {
        let plan = try BroadcastPlan(target, shape, op: "broadcast(to:)")
        guard plan.outShape == target else {
            throw TensorError.shapeMismatch("broadcast(to:)", shape, target, "cannot broadcast to a smaller shape")
        }
        var out = Tensor(uninitialized: target)
        let op = out.mutableData
        Elementwise.run(Second(), plan, UnsafePointer(op), data, op)
        return out
    }

    /// Sums this tensor over the dimensions along which a tensor of `target` shape was
    /// broadcast to produce it: the gradient of a broadcast operand. `target` must broadcast
    /// to exactly this tensor's shape.
    public func sumReduced(toShape target: [Int]) throws -> Tensor {
        if target == shape { return self }
        let plan = try BroadcastPlan(shape, target, op: "sumReduced(toShape:)")
        guard plan.outShape == shape else {
            throw TensorError.shapeMismatch("sumReduced(toShape:)", shape, target,
                                            "target does not broadcast to the tensor's shape")
        }
        // View as the merged dimensions, then sum away the ones the target lacks, innermost
        // first so the remaining axis numbers stay valid.
        var t = try reshaped(plan.dims)
        let keeps = plan.bKeeps
        for k in plan.dims.indices.reversed() where !keeps[k] {
            t = try t.sum(axis: k)
        }
        return try t.reshaped(target)
    }
}
