import CBLAS
import CastTensor

/// The upper triangle of a symmetric `[d, d]` double matrix, stored as square tiles of
/// `tile × tile` on and above the diagonal: about half of a full matrix (a streamed
/// covariance per point of every layer adds up), while each update is still a handful of
/// BLAS products (`dsyrk` on the diagonal tiles, `dgemm` above it).
struct TriangleTiles: Sendable {
    static let tile = 128
    let width: Int
    /// Tile row and column starts: tile k covers `starts[k]..<starts[k + 1]`.
    private let starts: [Int]
    /// Tiles (I, J), I ≤ J, in row order, each row-major with its own width as stride.
    private let tiles: [(row: Int, column: Int, offset: Int)]
    private(set) var values: [Double]

    init(width: Int) {
        self.width = width
        starts = Array(stride(from: 0, to: width, by: Self.tile)) + [width]
        var tiles: [(Int, Int, Int)] = [], offset = 0
        for i in 0..<(starts.count - 1) {
            for j in i..<(starts.count - 1) {
                tiles.append((i, j, offset))
                offset += (starts[i + 1] - starts[i]) * (starts[j + 1] - starts[j])
            }
        }
        self.tiles = tiles
        values = [Double](repeating: 0, count: offset)
    }

    /// Doubles the tiles of a `[width, width]` matrix hold.
    static func storage(width: Int) -> Int {
        let sizes = stride(from: 0, to: width, by: tile).map { min(tile, width - $0) }
        var total = 0
        for i in sizes.indices { for j in i..<sizes.count { total += sizes[i] * sizes[j] } }
        return total
    }

    /// Where entry (i, j), i ≤ j, lives in `values`.
    func index(_ i: Int, _ j: Int) -> Int {
        let ti = i / Self.tile, tj = j / Self.tile
        // Tiles of rows before ti: n + (n − 1) + … ; then tj − ti along row ti.
        let n = starts.count - 1
        let k = ti * n - ti * (ti - 1) / 2 + (tj - ti)
        let columns = starts[tj + 1] - starts[tj]
        return tiles[k].offset + (i - starts[ti]) * columns + (j - starts[tj])
    }

    subscript(i: Int, j: Int) -> Double {
        get { values[index(i, j)] }
        set { values[index(i, j)] = newValue }
    }

    /// Adds SᵀS (upper triangle) for `rows` rows of S (`[rows, width]`, row-major), the tiles
    /// spread over the engine's threads.
    mutating func addGram(_ s: UnsafePointer<Double>, rows: Int) {
        let tiles = self.tiles, starts = self.starts, d = width
        values.withUnsafeMutableBufferPointer { v in
            let shared = UncheckedSendable((s, v.baseAddress!))
            Parallel.forEach(tiles.count) { range in
                let (s, v) = shared.value
                for (ti, tj, offset) in tiles[range] {
                    let r0 = starts[ti], rn = starts[ti + 1] - r0, c0 = starts[tj], cn = starts[tj + 1] - c0
                    if ti == tj {
                        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(rn), Int32(rows), 1, s + r0, Int32(d),
                                    1, v + offset, Int32(cn))
                    } else {
                        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rn), Int32(cn), Int32(rows), 1,
                                    s + r0, Int32(d), s + c0, Int32(d), 1, v + offset, Int32(cn))
                    }
                }
            }
        }
    }
}
