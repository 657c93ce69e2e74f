extension Tensor {
    /// `axis` as an index into `shape`, counting from the end when negative (-1 = last).
    /// `extra` widens the valid range (concatenation and insertion accept `rank`).
    func resolveAxis(_ axis: Int, op: String, extra: Int = 0) throws -> Int {
        let resolved = axis < 0 ? axis + rank + extra : axis
        guard resolved >= 0, resolved < rank + extra else {
            throw TensorError(op, "axis \(axis) is out of range for shape \(shape) (rank \(rank))")
        }
        return resolved
    }

    /// The sizes before, at and after `axis`: the tensor viewed as `[outer, n, inner]`.
    func split(at axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}
