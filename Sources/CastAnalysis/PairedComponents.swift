import CastAdapters
import CastModels
import CastPlot
import CastTensor

/// Two models' tokens on one PCA: the components are fitted on model A's (the source's)
/// tokens at a point, and model B's tokens, read on the same text and paired with A's by
/// byte offset, are projected on them — at the same point (same width), or, with a CAST
/// adapter from A to B, at the module input the point's CAST layer sits on, mapped into A's
/// space by that layer's P_in. What `cast pca --model-b` and the language's `pca_pair` draw.
public struct PairedComponents: Sendable {
    public let pca: PrincipalComponents
    public let modelA: String
    public let modelB: String
    /// A's point, and where B was read (the CAST layer's module input, or the same point).
    public let pointA: ActivationPoint
    public let pointB: ActivationPoint
    /// Whether B's rows went through a CAST layer's P_in.
    public let mapped: Bool
    /// `[n, k]` each: row r of both is the same place in the text.
    public let projectionsA: Tensor
    public let projectionsB: Tensor
    public let tokensA: [CapturedToken]
    public let tokensB: [CapturedToken]

    /// B's legend label, short (a legend fits about 22 characters): its name and, mapped,
    /// the layer read.
    public var labelB: String {
        mapped ? "\(modelB) L\(pointB.layer ?? 0) P_in" : modelB == modelA ? "\(modelB) (B)" : modelB
    }

    public var title: String { "\(modelA) \(pointA.name): PC1 vs PC2" }

    /// Both models' tokens on PC1/PC2, coloured by model. Rows are interleaved (A₀, B₀, A₁,
    /// B₁, …) so neither model is drawn over the other wholesale.
    public func scatter() throws -> Figure {
        guard pca.componentCount >= 2 else { throw AnalysisError("a PC scatter needs 2 components or more") }
        let n = projectionsA.shape[0], k = projectionsA.shape[1]
        var interleaved = Tensor(zeros: [2 * n, k])
        for r in 0..<n {
            (interleaved.mutableData + 2 * r * k).update(from: projectionsA.data + r * k, count: k)
            (interleaved.mutableData + (2 * r + 1) * k).update(from: projectionsB.data + r * k, count: k)
        }
        let categories = (0..<n).flatMap { _ in [modelA, labelB] }
        return try AnalysisFigures.componentScatter(interleaved, categories: categories, title: title)
    }

    /// Reads `texts` with both models (windows of `window` tokens cut where both have a
    /// token boundary, as CKA reads them), keeps the aligned positions `options` selects,
    /// and fits `components` components on A's rows at `point`. `cast` must carry a LoRA of
    /// `a` to `b` and have a layer whose source module input is `point`.
    public static func run(_ a: Transformer, _ b: Transformer, texts: [String], point: ActivationPoint, cast: CastAdapter?,
                           components: Int, options: CaptureOptions, window: Int,
                           progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil) throws -> PairedComponents {
        try PointCatalog(a).check(point)
        var pointB = point, pIn: Tensor? = nil
        if let cast {
            guard cast.sourceName == a.name && cast.targetName == b.name else {
                throw AnalysisError("the CAST adapter carries \(cast.sourceName) → \(cast.targetName), not \(a.name) → \(b.name)")
            }
            (pointB, pIn) = try CastSpaceMapping.layer(cast, mappingTo: point)
        } else {
            try PointCatalog(b).check(pointB)
        }
        let (setA, setB) = try PairedCapture.run(a, b, texts: texts, pointsA: [point], pointsB: [pointB], options: options,
                                                 window: window, progress: progress)
        let rowsA = try setA.rows(point)
        let rowsB = try pIn.map { try CastSpaceMapping.map(try setB.rows(pointB), by: $0) } ?? setB.rows(pointB)
        guard rowsA.shape[1] == rowsB.shape[1] else {
            throw AnalysisError("\(point.name) is \(rowsA.shape[1]) wide in \(a.name) but \(rowsB.shape[1]) in \(b.name); "
                                + "a CAST adapter from \(a.name) to \(b.name) maps \(b.name) into \(a.name)'s space")
        }
        var statistics = CovarianceAccumulator(width: rowsA.shape[1])
        try statistics.add(rowsA)
        let pca = try PrincipalComponents(statistics, components: components)
        return PairedComponents(pca: pca, modelA: a.name, modelB: b.name, pointA: point, pointB: pointB, mapped: pIn != nil,
                                projectionsA: try pca.project(rowsA), projectionsB: try pca.project(rowsB),
                                tokensA: setA.tokens, tokensB: setB.tokens)
    }
}
