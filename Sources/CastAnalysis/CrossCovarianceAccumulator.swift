import CBLAS
import CastTensor

/// The centred cross-products Σ (x − x̄)(y − ȳ)ᵀ of paired rows (row r of X and row r of Y
/// are the same token) streamed in batches, in double precision, keeping only the sums and
/// the `[width x, width y]` products, never the rows. As in `CovarianceAccumulator`, rows
/// are shifted by the first batch's means before they are summed.
public struct CrossCovarianceAccumulator: Sendable {
    public let widthX: Int
    public let widthY: Int
    public private(set) var count = 0
    private var shiftX: [Double] = [], shiftY: [Double] = []
    private var sumX: [Double], sumY: [Double]
    /// Row-major `[widthX, widthY]`: Σ (x − shift)(y − shift)ᵀ.
    private var products: [Double]

    public init(widthX: Int, widthY: Int) {
        self.widthX = widthX
        self.widthY = widthY
        sumX = [Double](repeating: 0, count: widthX)
        sumY = [Double](repeating: 0, count: widthY)
        products = [Double](repeating: 0, count: widthX * widthY)
    }

    /// Bytes the accumulator holds (what a memory budget counts).
    public static func bytes(widthX: Int, widthY: Int) -> Int { 8 * (widthX * widthY + widthX + widthY) }

    /// Adds paired rows: `x` `[n, widthX]` and `y` `[n, widthY]`.
    public mutating func add(_ x: Tensor, _ y: Tensor) throws {
        guard x.rank == 2, y.rank == 2, x.shape[1] == widthX, y.shape[1] == widthY else {
            throw AnalysisError("cross-covariance of widths \(widthX)×\(widthY) given rows of shapes \(x.shape) and \(y.shape)")
        }
        guard x.shape[0] == y.shape[0] else {
            throw AnalysisError("cross-covariance pairs rows token by token: got \(x.shape[0]) and \(y.shape[0]) rows")
        }
        let n = x.shape[0]
        guard n > 0 else { return }
        if shiftX.isEmpty {
            shiftX = Self.columnMeans(x.data, rows: n, width: widthX)
            shiftY = Self.columnMeans(y.data, rows: n, width: widthY)
        }
        let block = min(n, CovarianceAccumulator.blockRows)
        var sx = [Double](repeating: 0, count: block * widthX), sy = [Double](repeating: 0, count: block * widthY)
        var start = 0
        while start < n {
            let rows = min(block, n - start)
            Self.shifted(x.data + start * widthX, rows: rows, width: widthX, shift: shiftX, into: &sx, sum: &sumX)
            Self.shifted(y.data + start * widthY, rows: rows, width: widthY, shift: shiftY, into: &sy, sum: &sumY)
            sx.withUnsafeBufferPointer { a in
                sy.withUnsafeBufferPointer { b in
                    products.withUnsafeMutableBufferPointer { c in
                        Self.addProducts(a.baseAddress!, b.baseAddress!, rows: rows, widthX: widthX, widthY: widthY, into: c.baseAddress!)
                    }
                }
            }
            start += rows
        }
        count += n
    }

    /// ‖Σ (x − x̄)(y − ȳ)ᵀ‖²_F / (n − 1)²: the squared Frobenius norm of the cross-covariance.
    public func squaredNorm() throws -> Double {
        guard count >= 2 else { throw AnalysisError("a cross-covariance needs at least 2 tokens, got \(count)") }
        let n = Double(count)
        var total = 0.0
        for i in 0..<widthX {
            let si = sumX[i] / n
            for j in 0..<widthY {
                let v = (products[i * widthY + j] - si * sumY[j]) / (n - 1)
                total += v * v
            }
        }
        return total
    }

    static func columnMeans(_ x: UnsafePointer<Float>, rows: Int, width: Int) -> [Double] {
        var mean = [Double](repeating: 0, count: width)
        for r in 0..<rows { for j in 0..<width { mean[j] += Double(x[r * width + j]) } }
        for j in 0..<width { mean[j] /= Double(rows) }
        return mean
    }

    static func shifted(_ x: UnsafePointer<Float>, rows: Int, width: Int, shift: [Double], into out: inout [Double], sum: inout [Double]) {
        for r in 0..<rows {
            for j in 0..<width {
                let v = Double(x[r * width + j]) - shift[j]
                out[r * width + j] = v
                sum[j] += v
            }
        }
    }

    /// C += AᵀB for `rows` rows, C's rows split into one band per thread.
    static func addProducts(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, rows: Int, widthX: Int, widthY: Int,
                            into c: UnsafeMutablePointer<Double>) {
        CovarianceAccumulator.singleThreaded()
        let shared = UncheckedSendable((a, b, c))
        Parallel.forEach(widthX, grain: 64) { band in
            let (a, b, c) = shared.value
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(band.count), Int32(widthY), Int32(rows), 1,
                        a + band.lowerBound, Int32(widthX), b, Int32(widthY), 1, c + band.lowerBound * widthY, Int32(widthY))
        }
    }
}
