import CastTensor

/// Linear CKA over every token, from statistics streamed pass by pass instead of kept rows.
/// With X and Y centred, ⟨XXᵀ, YYᵀ⟩ = ‖XᵀY‖²_F, so linear CKA = ‖XᵀY‖²_F / (‖XᵀX‖_F·‖YᵀY‖_F):
/// exactly what the `[tokens, tokens]` grams give, from each pair's `[d_x, d_y]` cross-
/// covariance and each representation's covariance, accumulated in double.
///
/// A matrix over many representations needs one cross-covariance per pair; they are
/// accumulated in blocks that fit `memoryBudget` bytes, one pass over the text per block.
/// The permutation baseline and k-NN still need rows (run them on a row sample).
public enum StatisticsCKA {
    /// One chunk of paired rows: `rows[i]` and `columns[j]` are `[n, width]` over the same n
    /// tokens, for the indices a pass asked for.
    public typealias Chunk = (rows: [Int: Tensor], columns: [Int: Tensor])
    /// One pass over all the text capturing row representations `rows` and column ones
    /// `columns` (indices), handing each chunk to `body`. Every pass must read the same tokens.
    public typealias Pass = (_ rows: [Int], _ columns: [Int], _ body: (Chunk) throws -> Void) throws -> Void

    public struct Result: Sendable {
        /// `cka[i][j]`: linear CKA of row i and column j over every token.
        public let cka: [[Double]]
        public let tokens: Int
        /// Passes over the text (blocks of pairs).
        public let passes: Int
    }

    /// What one pass accumulates: a representation's covariance, or a pair's cross-covariance.
    enum Job: Hashable {
        case rowSelf(Int), columnSelf(Int), cross(Int, Int)
    }

    /// The CKA of every row against every column (`symmetric`: rows and columns are the same
    /// representations; only the upper triangle is accumulated, and passes ask for rows only).
    public static func matrix(rowWidths: [Int], columnWidths: [Int], symmetric: Bool = false,
                              memoryBudget: Int, pass: Pass) throws -> Result {
        guard !rowWidths.isEmpty, symmetric || !columnWidths.isEmpty else {
            throw AnalysisError("a similarity matrix needs activations on both sides")
        }
        let columns = symmetric ? rowWidths : columnWidths
        var jobs: [Job] = rowWidths.indices.map { .rowSelf($0) }
        if !symmetric { jobs += columns.indices.map { .columnSelf($0) } }
        for i in rowWidths.indices {
            for j in columns.indices where !symmetric || j > i { jobs.append(.cross(i, j)) }
        }
        func bytes(_ job: Job) -> Int {
            switch job {
            case .rowSelf(let i): CovarianceAccumulator.bytes(width: rowWidths[i])
            case .columnSelf(let j): CovarianceAccumulator.bytes(width: columns[j])
            case .cross(let i, let j): CrossCovarianceAccumulator.bytes(widthX: rowWidths[i], widthY: columns[j])
            }
        }
        if let largest = jobs.map(bytes).max(), largest > memoryBudget {
            throw AnalysisError("CKA from statistics needs at least \(largest / 1_048_576 + 1) MiB for one pair of "
                                + "representations; the memory budget is \(memoryBudget / 1_048_576) MiB")
        }
        // Blocks of jobs in order, each within the budget.
        var blocks: [[Job]] = [[]], used = 0
        for job in jobs {
            if used + bytes(job) > memoryBudget { blocks.append([]); used = 0 }
            blocks[blocks.count - 1].append(job)
            used += bytes(job)
        }

        var selfNorm: [Job: Double] = [:], crossSquared: [Job: Double] = [:]
        var tokens: Int? = nil
        for block in blocks {
            var covariances: [Job: CovarianceAccumulator] = [:], crosses: [Job: CrossCovarianceAccumulator] = [:]
            var wantRows = Set<Int>(), wantColumns = Set<Int>()
            for job in block {
                switch job {
                case .rowSelf(let i): wantRows.insert(i); covariances[job] = CovarianceAccumulator(width: rowWidths[i])
                case .columnSelf(let j): wantColumns.insert(j); covariances[job] = CovarianceAccumulator(width: columns[j])
                case .cross(let i, let j):
                    wantRows.insert(i)
                    if symmetric { wantRows.insert(j) } else { wantColumns.insert(j) }
                    crosses[job] = CrossCovarianceAccumulator(widthX: rowWidths[i], widthY: columns[j])
                }
            }
            var seen = 0
            try pass(wantRows.sorted(), wantColumns.sorted()) { chunk in
                func rows(_ i: Int) throws -> Tensor {
                    guard let t = chunk.rows[i] else { throw AnalysisError("CKA from statistics: a pass gave no rows for row \(i)") }
                    return t
                }
                func column(_ j: Int) throws -> Tensor {
                    guard let t = symmetric ? chunk.rows[j] : chunk.columns[j] else {
                        throw AnalysisError("CKA from statistics: a pass gave no rows for column \(j)")
                    }
                    return t
                }
                var n: Int? = nil
                for job in block {
                    switch job {
                    case .rowSelf(let i):
                        let x = try rows(i)
                        try covariances[job]!.add(x)
                        n = x.shape[0]
                    case .columnSelf(let j):
                        let y = try column(j)
                        try covariances[job]!.add(y)
                        n = y.shape[0]
                    case .cross(let i, let j):
                        let x = try rows(i)
                        try crosses[job]!.add(x, try column(j))
                        n = x.shape[0]
                    }
                }
                seen += n ?? 0
            }
            if let tokens, tokens != seen {
                throw AnalysisError("CKA from statistics: passes over the same text read \(tokens) and \(seen) tokens")
            }
            tokens = seen
            for (job, c) in covariances { selfNorm[job] = try c.squaredNorm().squareRoot() }
            for (job, c) in crosses { crossSquared[job] = try c.squaredNorm() }
        }

        var cka = [[Double]](repeating: [Double](repeating: 0, count: columns.count), count: rowWidths.count)
        for i in rowWidths.indices {
            for j in columns.indices {
                let a = selfNorm[.rowSelf(i)]!, b = selfNorm[symmetric ? .rowSelf(j) : .columnSelf(j)]!
                guard a > 0, b > 0 else { continue }
                if symmetric {
                    cka[i][j] = i == j ? 1 : crossSquared[.cross(min(i, j), max(i, j))]! / (a * b)
                } else {
                    cka[i][j] = crossSquared[.cross(i, j)]! / (a * b)
                }
            }
        }
        return Result(cka: cka, tokens: tokens ?? 0, passes: blocks.count)
    }

    /// Linear CKA of two `[tokens, width]` matrices from their statistics (one pass, no
    /// budget): equals `CKA.similarity(x, y)` computed from the grams.
    public static func similarity(_ x: Tensor, _ y: Tensor) throws -> Double {
        guard x.rank == 2, y.rank == 2, x.shape[0] == y.shape[0] else {
            throw AnalysisError("CKA compares the same tokens: got shapes \(x.shape) and \(y.shape)")
        }
        let result = try matrix(rowWidths: [x.shape[1]], columnWidths: [y.shape[1]], memoryBudget: Int.max) { _, _, body in
            try body((rows: [0: x], columns: [0: y]))
        }
        return result.cka[0][0]
    }
}
