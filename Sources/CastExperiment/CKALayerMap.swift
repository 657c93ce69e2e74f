import CastAdapters
import CastAnalysis
import CastModels

/// The layer map CKA suggests for CAST (LoRASuite's pairing): linear CKA between the two
/// models' attention inputs (`ln1.hook_normalized`, what a q/k/v LoRA and its CAST layer
/// read), target layers against source layers, over corpus text with each window's first
/// token left out (it holds most of the variance in most models and would decide the score
/// alone); then the order-preserving assignment with the largest CKA in excess of the
/// permutation baseline (`LayerCorrespondence`).
public enum CKALayerMap {
    public static let point = "ln1.hook_normalized"

    public static func suggest(source: Transformer, target: Transformer, texts: [String], tokens: Int = 1024,
                        window: Int = 256) throws -> LayerMapping {
        func points(_ model: Transformer) throws -> [ActivationPoint] {
            let catalog = PointCatalog(model)
            return try catalog.points([point], layers: Array(catalog.layers))
        }
        let pointsS = try points(source), pointsT = try points(target)
        let options = CaptureOptions(keepRows: true, positions: .from(1), budget: tokens)
        let (s, t) = try PairedCapture.run(source, target, texts: texts, pointsA: pointsS, pointsB: pointsT,
                                           options: options, window: window)
        func labelled(_ set: ActivationSet, _ points: [ActivationPoint]) throws -> [LabelledActivations] {
            try points.map { LabelledActivations(label: "L\($0.layer!)", layer: $0.layer, rows: try set.rows($0)) }
        }
        let matrix = try SimilarityMatrix(rows: try labelled(t, pointsT), columns: try labelled(s, pointsS),
                                          kernel: .linear, permutations: 8)
        guard let correspondence = try matrix.layerCorrespondence() else {
            throw ExperimentError("CKA layer map: the similarity matrix has no layer labels")
        }
        return correspondence.mapping
    }
}
