import CastTensor

/// Activations of one point (or one layer) under a label, for a similarity matrix.
public struct LabelledActivations: Sendable {
    public let label: String
    /// The layer it belongs to, when it is one (for a suggested layer map).
    public let layer: Int?
    public let rows: Tensor

    public init(label: String, layer: Int?, rows: Tensor) {
        self.label = label
        self.layer = layer
        self.rows = rows
    }
}

/// CKA of every row representation against every column representation (the same tokens
/// on both sides), beside each cell's permutation baseline and, optionally, the mutual
/// k-nearest-neighbour alignment.
public struct SimilarityMatrix: Sendable {
    public let rowLabels: [String]
    public let columnLabels: [String]
    public let rowLayers: [Int?]
    public let columnLayers: [Int?]
    public let kernel: CKAKernel
    /// Tokens the CKA is over.
    public private(set) var tokens: Int
    /// `cka[i][j]`: CKA of row i's and column j's activations.
    public private(set) var cka: [[Double]]
    /// "rows" (grams of the kept rows) or "statistics" (`withCKA(from:)`: cross-covariances
    /// over every token, in `passes` passes over the text).
    public private(set) var path = "rows"
    public private(set) var passes = 1
    /// Tokens the permutation baseline and k-NN were measured on (their rows were kept).
    public let sampleTokens: Int
    /// The mean CKA with column j's tokens shuffled (what unrelated rows would score).
    public let baseline: [[Double]]
    public let baselineStandardDeviation: [[Double]]
    public let permutations: Int
    /// Mutual k-NN alignment, when asked for.
    public let mutualNeighbors: [[Double]]?
    public let neighbors: Int?

    /// `symmetric`: rows and columns are the same list (cells below the diagonal are copied).
    public init(rows: [LabelledActivations], columns: [LabelledActivations], kernel: CKAKernel = .linear,
                permutations: Int = 8, seed: UInt64 = 0, neighbors: Int? = nil, symmetric: Bool = false) throws {
        guard !rows.isEmpty, !columns.isEmpty else { throw AnalysisError("a similarity matrix needs activations on both sides") }
        let n = rows[0].rows.shape.first ?? 0
        for x in rows + columns where x.rows.shape.first != n {
            throw AnalysisError("CKA compares the same tokens: \(x.label) has \(x.rows.shape.first ?? 0) rows, \(rows[0].label) \(n)")
        }
        guard permutations >= 0 else { throw AnalysisError("permutations must be ≥ 0") }
        let rowGrams = try rows.map { try CenteredGram($0.rows, kernel: kernel) }
        let columnGrams = symmetric ? rowGrams : try columns.map { try CenteredGram($0.rows, kernel: kernel) }
        var neighborLists: ([NearestNeighbors], [NearestNeighbors])? = nil
        if let k = neighbors {
            func lists(_ xs: [LabelledActivations], _ grams: [CenteredGram]) throws -> [NearestNeighbors] {
                try zip(xs, grams).map { x, g in try NearestNeighbors(kernel == .linear ? g : CenteredGram(x.rows), k: k) }
            }
            let r = try lists(rows, rowGrams)
            neighborLists = (r, symmetric ? r : try lists(columns, columnGrams))
        }
        var cka = [[Double]](repeating: [Double](repeating: .nan, count: columns.count), count: rows.count)
        var base = cka, spread = cka, mutual = cka
        for i in rows.indices {
            for j in columns.indices {
                if symmetric && j < i {
                    cka[i][j] = cka[j][i]; base[i][j] = base[j][i]; spread[i][j] = spread[j][i]; mutual[i][j] = mutual[j][i]
                    continue
                }
                cka[i][j] = try CKA.similarity(rowGrams[i], columnGrams[j])
                if permutations > 0 {
                    let b = try CKA.permutationBaseline(rowGrams[i], columnGrams[j], permutations: permutations,
                                                        seed: seed &+ UInt64(i * columns.count + j))
                    base[i][j] = b.mean
                    spread[i][j] = b.standardDeviation
                }
                if let (r, c) = neighborLists { mutual[i][j] = try NearestNeighbors.mutualAlignment(r[i], c[j]) }
            }
        }
        rowLabels = rows.map(\.label)
        columnLabels = columns.map(\.label)
        rowLayers = rows.map(\.layer)
        columnLayers = columns.map(\.layer)
        self.kernel = kernel
        tokens = n
        sampleTokens = n
        self.cka = cka
        baseline = base
        baselineStandardDeviation = spread
        self.permutations = permutations
        mutualNeighbors = neighbors == nil ? nil : mutual
        self.neighbors = neighbors
    }

    /// This matrix with its CKA replaced by linear CKA from statistics over more tokens; the
    /// permutation baseline and k-NN stay those of this matrix's row sample.
    public func withCKA(from statistics: StatisticsCKA.Result) throws -> SimilarityMatrix {
        guard kernel == .linear else { throw AnalysisError("CKA from statistics is linear CKA; this matrix is \(kernel)") }
        guard statistics.cka.count == cka.count, statistics.cka.first?.count == cka.first?.count else {
            throw AnalysisError("CKA from statistics is \(statistics.cka.count)×\(statistics.cka.first?.count ?? 0), the matrix \(cka.count)×\(cka.first?.count ?? 0)")
        }
        var out = self
        out.cka = statistics.cka
        out.tokens = statistics.tokens
        out.path = "statistics"
        out.passes = statistics.passes
        return out
    }

    /// CKA in excess of its permutation baseline (raw CKA without permutations).
    public var excess: [[Double]] {
        permutations == 0 ? cka : zip(cka, baseline).map { zip($0, $1).map { $0 - $1 } }
    }

    /// The suggested map from the rows' layers (target) to the columns' layers (source), on
    /// CKA in excess of its baseline; nil when either side is not one point per layer.
    public func layerCorrespondence() throws -> LayerCorrespondence? {
        let t = rowLayers.compactMap { $0 }, s = columnLayers.compactMap { $0 }
        guard t.count == rowLayers.count, s.count == columnLayers.count,
              Set(t).count == t.count, Set(s).count == s.count else { return nil }
        return try LayerCorrespondence(scores: excess, targetLayers: t, sourceLayers: s)
    }
}
