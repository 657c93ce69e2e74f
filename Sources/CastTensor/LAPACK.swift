/// Shared checks and conventions for the LAPACK-backed decompositions (`Eigen`, `SVD`).
///
/// LAPACK is Fortran: column-major matrices, 32-bit integer sizes, `info` < 0 for a bad
/// argument and > 0 for a numerical failure. A row-major `[r, c]` buffer read column-major
/// is the transpose `[c, r]`, which the callers exploit instead of copying.
enum LAPACK {
    /// Rows and columns of a non-empty, finite matrix whose element count fits LAPACK's
    /// 32-bit indexing; throws naming the problem otherwise.
    static func checkedMatrix(_ a: Tensor, _ op: String) throws -> (rows: Int, cols: Int) {
        guard a.rank == 2 else {
            throw TensorError(op, "expected a matrix [rows, cols], got shape \(a.shape)")
        }
        let (rows, cols) = (a.shape[0], a.shape[1])
        guard rows > 0, cols > 0 else {
            throw TensorError(op, "the matrix is empty, shape \(a.shape)")
        }
        guard a.count <= Int(Int32.max) else {
            throw TensorError(op, "shape \(a.shape) has more elements than LAPACK's 32-bit indexing allows")
        }
        let p = a.data
        for i in 0..<a.count where !p[i].isFinite {
            throw TensorError(op, "element [\(i / cols), \(i % cols)] of the \(a.shape) input is \(p[i]); "
                              + "the input must be finite")
        }
        return (rows, cols)
    }

    /// An `Int` size as LAPACK's `int`, or an error when it does not fit.
    static func int32(_ value: Int, _ op: String, _ what: String) throws -> Int32 {
        guard let v = Int32(exactly: value) else {
            throw TensorError(op, "\(what) = \(value) exceeds LAPACK's 32-bit integer range")
        }
        return v
    }

    /// Workspace length from a `lwork = -1` query. LAPACK returns it as a float, which can
    /// round below the true integer for large sizes: round up with a little slack, and
    /// never go under the documented minimum.
    static func workspaceLength(queried: Float, minimum: Int) -> Int {
        let fromQuery = Int((Double(queried) * (1 + 1e-6)).rounded(.up))
        return max(fromQuery, minimum, 1)
    }

    /// Throws a readable error for a non-zero `info` from `routine`.
    static func check(info: Int32, _ routine: String, _ op: String, failure: String) throws {
        if info < 0 {
            throw TensorError(op, "\(routine) rejected argument \(-info) (a bug in the call, please report)")
        }
        if info > 0 {
            throw TensorError(op, "\(routine) failed (info = \(info)): \(failure)")
        }
    }

    /// Sign convention that makes the decompositions deterministic: flips row `row` of the
    /// row-major `[rows, cols]` buffer so its largest-magnitude entry (the first, on ties) is
    /// positive. Returns whether it flipped.
    @discardableResult
    static func makeLargestEntryPositive(_ p: UnsafeMutablePointer<Float>, row: Int, cols: Int) -> Bool {
        let r = p + row * cols
        var best = 0
        for j in 1..<cols where abs(r[j]) > abs(r[best]) { best = j }
        guard r[best] < 0 else { return false }
        for j in 0..<cols { r[j] = -r[j] }
        return true
    }
}
