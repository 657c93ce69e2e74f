import CastAnalysis
import CastModels
import CastTensor
import Foundation

/// Activations captured at named points (`activations(m, text, points: …)`): one
/// `[tokens, width]` matrix per point, the same tokens for every point, and where each row
/// came from. `len(a)` counts the tokens, `a[i]` is token i's record; `save(a, "f.safetensors")`
/// hands them to numpy.
public final class ActivationsValue: ScriptObject {
    public static let typeName = "activations"
    public static let summary = "Activations at named points, [tokens, width] each: a.points, a.tokens, a.widths, a.shapes, "
        + "a[i] (token i); pca(a), cka(a, b), save(a, \"acts.safetensors\")."
    public let captured: ActivationSet
    public let model: ModelValue
    /// How many sequences the model read (texts, windows, task examples).
    public let sequences: Int
    /// The position selector, as given (`all`, `skip-first`, …).
    public let positions: String

    public init(captured: ActivationSet, model: ModelValue, sequences: Int, positions: String) {
        self.captured = captured
        self.model = model
        self.sequences = sequences
        self.positions = positions
    }

    /// Each row's token as its vocabulary stores it (`Ġworld`).
    public private(set) lazy var pieces: [String] = captured.tokens.map { model.transformer.tokenizer?.tokenText(Int($0.id)) ?? "" }

    /// Each row's token class: word, number, punctuation, whitespace or special.
    public private(set) lazy var classes: [String] = captured.tokens.map { token in
        let bytes = model.transformer.tokenizer?.textBytes(of: Int(token.id))
        return TokenClass(text: bytes.map { String(decoding: $0, as: UTF8.self) }).rawValue
    }

    /// The width of each point, in `points` order.
    var widths: [Int] { captured.points.map { (try? captured.rows($0).shape[1]) ?? 0 } }

    var shapes: TableValue {
        TableValue(columns: ["point", "tokens", "width"],
                   rows: zip(captured.points, widths).map { [.string($0.name), Value(captured.tokens.count), Value($1)] },
                   caption: "activations of \(captured.model): \(captured.tokens.count) token\(captured.tokens.count == 1 ? "" : "s") "
                       + "from \(sequences) sequence\(sequences == 1 ? "" : "s") (positions: \(positions)), "
                       + "\(captured.points.count) point\(captured.points.count == 1 ? "" : "s")")
    }

    public static var attributes: [Attribute<ActivationsValue>] {
        [Attribute("model", "The model they were captured from.") { .object($0.model) },
         Attribute("points", "The captured points' names, in the order the forward pass computes them.") { Value($0.captured.points.map(\.name)) },
         Attribute("tokens", "How many tokens (rows) each point holds.") { Value($0.captured.tokens.count) },
         Attribute("widths", "Each point's width, in the order of a.points.") { Value($0.widths) },
         Attribute("shapes", "A table of each point's shape: point, tokens, width.") { .object($0.shapes) },
         Attribute("sequences", "How many sequences the model read (texts, windows of long texts, task examples).") { Value($0.sequences) },
         Attribute("positions", "The positions kept: all, last, answer, skip-first or from:N.") { .string($0.positions) },
         Attribute("ids", "Each row's token id.") { Value($0.captured.tokens.map { Int($0.id) }) },
         Attribute("pieces", "Each row's token as the vocabulary stores it (Ġ marks a leading space).") { Value($0.pieces) },
         Attribute("classes", "Each row's token class: word, number, punctuation, whitespace or special.") { Value($0.classes) },
         Attribute("texts", "Each row's text (0-based index into the texts, documents or task examples read).") {
             Value($0.captured.tokens.map(\.textIndex))
         },
         Attribute("token_positions", "Each row's position in its sequence.") { Value($0.captured.tokens.map(\.position)) }]
    }

    public var length: Int? { captured.tokens.count }

    public func element(at i: Int) -> Value {
        let token = captured.tokens[i]
        return .object(RecordValue(fields: [("row", Value(i)), ("text", Value(token.textIndex)), ("sequence", Value(token.sequence)),
                                            ("position", Value(token.position)), ("id", Value(Int(token.id))),
                                            ("piece", .string(pieces[i])), ("class", .string(classes[i])),
                                            ("answer", .bool(token.isAnswer))]))
    }

    public func display() -> MIMEBundle { shapes.display() }

    public var brief: String {
        "<activations \(captured.model): \(captured.tokens.count) tokens × \(captured.points.count) point\(captured.points.count == 1 ? "" : "s")>"
    }
}

/// A PCA of one point's activations, or of several points' rows together
/// (`pca(a, point: …)`): explained variance, ratios, participation ratio, and each token's
/// coordinates on the components.
public final class PCAValue: ScriptObject {
    public static let typeName = "pca"
    public static let summary = "Principal components of a point's activations: p.explained_variance, p.ratio, p.cumulative, "
        + "p.participation_ratio, p.projections; plot(p) draws the explained variance, plot(p, kind: \"scatter\") PC1 vs PC2."
    public let pca: PrincipalComponents
    public let model: String
    /// The point's name, or `joint` names for several points' rows together.
    public let point: String
    public let points: [ActivationPoint]
    /// `[tokens, k]`: each row's coordinates on the components.
    public let projections: Tensor
    /// What the PC scatter colours its tokens by (token class; layer for a joint PCA).
    public let categories: [String]
    /// A warning worth reading beside the numbers (one token holding PC1), or nil.
    public let note: String?

    public init(pca: PrincipalComponents, model: String, point: String, points: [ActivationPoint], projections: Tensor,
                categories: [String], note: String?) {
        self.pca = pca
        self.model = model
        self.point = point
        self.points = points
        self.projections = projections
        self.categories = categories
        self.note = note
    }

    var cumulative: [Double] {
        var total = 0.0
        return pca.explainedVarianceRatio.map { total += $0; return total }
    }

    static func rows(_ t: Tensor) -> Value {
        let n = t.shape[0], k = t.shape[1], p = t.data
        return .list((0..<n).map { r in .list((0..<k).map { .number(Double(p[r * k + $0])) }) })
    }

    public static var attributes: [Attribute<PCAValue>] {
        [Attribute("model", "The model's name.") { .string($0.model) },
         Attribute("point", "The point (for a joint PCA: \"joint\" and the points' kind).") { .string($0.point) },
         Attribute("points", "The points whose rows went in.") { Value($0.points.map(\.name)) },
         Attribute("tokens", "How many rows the PCA read.") { Value($0.pca.tokens) },
         Attribute("width", "The activations' width.") { Value($0.pca.width) },
         Attribute("n_components", "How many components were kept.") { Value($0.pca.componentCount) },
         Attribute("explained_variance", "Each component's variance (the covariance's eigenvalues, normalised by n − 1), descending.") {
             .list($0.pca.explainedVariance.map { .number($0) })
         },
         Attribute("ratio", "Each component's share of the total variance (explained_variance_ratio).") {
             .list($0.pca.explainedVarianceRatio.map { .number($0) })
         },
         Attribute("cumulative", "The running total of the ratios.") { .list($0.cumulative.map { .number($0) }) },
         Attribute("total_variance", "The total variance (the covariance's trace).") { .number($0.pca.totalVariance) },
         Attribute("participation_ratio", "(Σλ)²/Σλ² over all eigenvalues: the effective number of dimensions.") {
             .number($0.pca.participationRatio)
         },
         Attribute("projections", "Each token's coordinates on the components, a list of [PC1, PC2, …] rows.") { rows($0.projections) },
         Attribute("components", "The components as rows of width numbers (unit vectors, largest entry positive).") { rows($0.pca.components) },
         Attribute("mean", "The mean the rows were centred on.") { .list($0.pca.mean.map { .number($0) }) },
         Attribute("categories", "What plot(p, kind: \"scatter\") colours each token by: its token class, or its layer for a joint PCA.") {
             Value($0.categories)
         },
         Attribute("note", "A warning about the data (one token holding PC1), or none.") { Value($0.note) }]
    }

    var caption: String {
        "PCA of \(model) \(point): \(pca.tokens) tokens, width \(pca.width), total variance \(String(format: "%.6g", pca.totalVariance)), "
            + "participation ratio \(String(format: "%.2f", pca.participationRatio))"
    }

    public func display() -> MIMEBundle {
        let total = cumulative
        let rows = pca.explainedVariance.indices.map { i in
            ["PC\(i + 1)", String(format: "%.6g", pca.explainedVariance[i]), String(format: "%.4f", pca.explainedVarianceRatio[i]),
             String(format: "%.4f", total[i])]
        }
        return RenderedTable(header: ["component", "variance", "ratio", "cumulative"], rows: rows, rightAligned: [1, 2, 3],
                             caption: caption, footer: note.map { "note: \($0)" }).bundle
    }

    public var brief: String {
        "<pca \(point): \(pca.componentCount) components, PC1 \(String(format: "%.1f", 100 * (pca.explainedVarianceRatio.first ?? 0)))%>"
    }
}

/// CKA between representations of the same tokens (`cka(a, b)`, `cka(m1, m2, text)`): the
/// matrix, each cell's permutation baseline, and, across two models' layers, a suggested
/// target:source layer map. `c[i]` is row i, `c[i][j]` one cell.
public final class CKAValue: ScriptObject {
    public static let typeName = "cka"
    public static let summary = "A CKA matrix (rows: the second model, the target; columns: the first, the source) with its "
        + "permutation baseline: c.matrix, c.baseline, c.excess, c.layer_map; plot(c) draws a heatmap."
    public let matrix: SimilarityMatrix
    /// The models of the rows and the columns.
    public let rowModel: String
    public let columnModel: String
    public let correspondence: LayerCorrespondence?
    public let note: String?

    public init(matrix: SimilarityMatrix, rowModel: String, columnModel: String, correspondence: LayerCorrespondence?, note: String?) {
        self.matrix = matrix
        self.rowModel = rowModel
        self.columnModel = columnModel
        self.correspondence = correspondence
        self.note = note
    }

    static func grid(_ m: [[Double]]) -> Value { .list(m.map { .list($0.map { .number($0) }) }) }

    /// `0:0,1:2,…` (target:source), as cast(…, layer_map:) and `cast transfer --layer-map` take it.
    static func describe(_ pairs: [Int: Int]) -> String { pairs.keys.sorted().map { "\($0):\(pairs[$0]!)" }.joined(separator: ",") }

    var layerMap: String? { correspondence.map { Self.describe($0.pairs) } }

    var meanBaseline: Double? {
        guard matrix.permutations > 0 else { return nil }
        let all = matrix.baseline.joined().filter(\.isFinite)
        return all.isEmpty ? nil : all.reduce(0, +) / Double(all.count)
    }

    public static var attributes: [Attribute<CKAValue>] {
        [Attribute("matrix", "CKA of each row representation against each column one, a list of rows.") { grid($0.matrix.cka) },
         Attribute("baseline", "Each cell's permutation baseline: the mean CKA with one side's tokens shuffled (none without permutations).") {
             $0.matrix.permutations > 0 ? grid($0.matrix.baseline) : .none
         },
         Attribute("baseline_sd", "The standard deviation of each cell's shuffled CKA (none without permutations).") {
             $0.matrix.permutations > 0 ? grid($0.matrix.baselineStandardDeviation) : .none
         },
         Attribute("excess", "CKA minus its baseline: what the layer map maximises.") { grid($0.matrix.excess) },
         Attribute("mutual_knn", "Mutual k-nearest-neighbour alignment per cell (with neighbors:), else none.") {
             $0.matrix.mutualNeighbors.map(grid) ?? .none
         },
         Attribute("rows", "The rows' labels (L3 for layer 3 when one point kind per layer, else point names).") { Value($0.matrix.rowLabels) },
         Attribute("columns", "The columns' labels.") { Value($0.matrix.columnLabels) },
         Attribute("row_model", "The model of the rows (the target, with two models).") { .string($0.rowModel) },
         Attribute("column_model", "The model of the columns (the source, with two models).") { .string($0.columnModel) },
         Attribute("tokens", "How many tokens the representations share.") { Value($0.matrix.tokens) },
         Attribute("kernel", "linear, or rbf:SCALE.") { .string($0.matrix.kernel.description) },
         Attribute("permutations", "Shuffles behind each baseline.") { Value($0.matrix.permutations) },
         Attribute("layer_map", "The suggested target:source layer map (\"0:0,1:2,…\"), order-preserving, on CKA − baseline; "
                   + "for cast(l, to: m, layer_map: c.layer_map). none unless rows and columns are layers of two models.") {
             Value($0.layerMap)
         },
         Attribute("layer_map_best", "Each target layer's best source layer, ignoring order, or none.") {
             Value($0.correspondence.map { describe($0.best) })
         },
         Attribute("note", "A warning about the data (one token dominating), or none.") { Value($0.note) }]
    }

    public var length: Int? { matrix.cka.count }

    public func element(at i: Int) -> Value { .list(matrix.cka[i].map { .number($0) }) }

    var caption: String {
        let models = rowModel == columnModel ? rowModel : "rows \(rowModel), columns \(columnModel)"
        let path = matrix.path == "statistics" ? " (from statistics in \(matrix.passes) pass\(matrix.passes == 1 ? "" : "es"); "
            + "baseline over the first \(matrix.sampleTokens))" : ""
        return "CKA (\(matrix.kernel)) over \(matrix.tokens) tokens\(path): \(models)"
    }

    public func display() -> MIMEBundle {
        let rows = matrix.cka.enumerated().map { i, row in [matrix.rowLabels[i]] + row.map { String(format: "%.3f", $0) } }
        var footer: [String] = []
        if let b = meanBaseline { footer.append("permutation baseline: mean \(String(format: "%.3f", b)) (\(matrix.permutations) shuffles; see c.baseline)") }
        if let map = layerMap { footer.append("suggested layer map (target:source): \(map)") }
        if let note { footer.append("note: \(note)") }
        return RenderedTable(header: [""] + matrix.columnLabels, rows: rows, rightAligned: Set(1...max(1, matrix.columnLabels.count)),
                             caption: caption, footer: footer.isEmpty ? nil : footer.joined(separator: "\n")).bundle
    }

    public var brief: String { "<cka \(matrix.rowLabels.count)×\(matrix.columnLabels.count) over \(matrix.tokens) tokens>" }
}
