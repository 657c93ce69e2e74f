import CBLAS
import CastTensor

/// Mean and covariance of rows streamed in batches, in double precision, keeping only the
/// `[width]` sum and the `[width, width]` sum of products, never the rows. Rows are shifted
/// by the first batch's mean before they are summed, so a large common offset (the outlier
/// dimensions of a residual stream) does not cancel catastrophically at the end.
public struct CovarianceAccumulator: Sendable {
    public let width: Int
    public private(set) var count = 0
    private var shift: [Double] = []
    private var sum: [Double]
    /// Upper triangle of Σ (x − shift)(x − shift)ᵀ.
    private var products: TriangleTiles

    public init(width: Int) {
        self.width = width
        sum = [Double](repeating: 0, count: width)
        products = TriangleTiles(width: width)
    }

    /// Adds `rows` rows of `width` floats, a block of rows at a time (only one block is ever
    /// held in double, so the scratch stays small whatever the batch).
    public mutating func add(_ x: UnsafePointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        let d = width
        if shift.isEmpty {
            shift = [Double](repeating: 0, count: d)
            for r in 0..<rows { for j in 0..<d { shift[j] += Double(x[r * d + j]) } }
            for j in 0..<d { shift[j] /= Double(rows) }
        }
        let block = min(rows, Self.blockRows)
        var scratch = [Double](repeating: 0, count: block * d)
        var start = 0
        while start < rows {
            let n = min(block, rows - start)
            scratch.withUnsafeMutableBufferPointer { s in
                for r in 0..<n {
                    let row = x + (start + r) * d
                    for j in 0..<d {
                        let v = Double(row[j]) - shift[j]
                        s[r * d + j] = v
                        sum[j] += v
                    }
                }
                Self.singleThreaded()
                products.addGram(s.baseAddress!, rows: n)
            }
            start += n
        }
        count += rows
    }

    /// Rows converted to double per block.
    static let blockRows = 256

    /// Adds the rows of a `[n, width]` tensor.
    public mutating func add(_ rows: Tensor) throws {
        guard rows.rank == 2, rows.shape[1] == width else {
            throw AnalysisError("covariance of width \(width) given rows of shape \(rows.shape)")
        }
        add(rows.data, rows: rows.shape[0])
    }

    /// Adds everything another accumulator of the same width has seen.
    public mutating func merge(_ other: CovarianceAccumulator) throws {
        guard other.width == width else { throw AnalysisError("cannot merge covariances of widths \(width) and \(other.width)") }
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        // Re-express the other's sums around our shift: x − a = (x − b) + (b − a).
        let d = width, n = Double(other.count)
        var delta = [Double](repeating: 0, count: d)
        for j in 0..<d { delta[j] = other.shift[j] - shift[j] }
        for i in 0..<d {
            for j in i..<d {
                products[i, j] += other.products[i, j] + other.sum[i] * delta[j] + delta[i] * other.sum[j]
                    + n * delta[i] * delta[j]
            }
        }
        for j in 0..<d { sum[j] += other.sum[j] + n * delta[j] }
        count += other.count
    }

    /// The mean row.
    public var mean: [Double] {
        guard count > 0 else { return [Double](repeating: .nan, count: width) }
        return (0..<width).map { shift[$0] + sum[$0] / Double(count) }
    }

    /// The full symmetric covariance `[width, width]`, normalised by `count − 1` (numpy's
    /// `np.cov`, sklearn's PCA); needs two rows or more.
    public func covariance() throws -> [Double] {
        guard count >= 2 else {
            throw AnalysisError("a covariance needs at least 2 tokens, got \(count)")
        }
        let d = width, n = Double(count)
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let v = (products[i, j] - sum[i] * sum[j] / n) / (n - 1)
                c[i * d + j] = v
                c[j * d + i] = v
            }
        }
        return c
    }

    /// ‖C‖²_F of the covariance (normalised by n − 1), from the upper triangle.
    public func squaredNorm() throws -> Double {
        guard count >= 2 else { throw AnalysisError("a covariance needs at least 2 tokens, got \(count)") }
        let d = width, n = Double(count)
        var total = 0.0
        for i in 0..<d {
            for j in i..<d {
                let v = (products[i, j] - sum[i] * sum[j] / n) / (n - 1)
                total += i == j ? v * v : 2 * v * v
            }
        }
        return total
    }

    /// Bytes an accumulator of `width` holds (what a memory budget counts).
    public static func bytes(width: Int) -> Int { 8 * (TriangleTiles.storage(width: width) + 2 * width) }

    /// OpenBLAS threading is pinned to one thread engine-wide (CastTensor's policy); do the
    /// same here in case no product ran before.
    static func singleThreaded() { _ = pinned }
    private static let pinned: Void = { openblas_set_num_threads(1) }()
}
