import CastAdapters
import CastModels
import CastTensor

/// The target model's activations seen from the source: at each module a CAST adapter sits
/// on, the target's input rows mapped by that layer's `P_in` (`x_s = P_in·x_t`) into the
/// source module's input space, where the source LoRA's A reads them. Set beside the
/// source's own activations at the same module, this shows how well P_in lines them up.
public enum CastSpaceMapping {
    /// The target points to capture for `adapter`: each CAST layer's module input.
    public static func targetPoints(_ adapter: CastAdapter) -> [ActivationPoint] {
        adapter.layers.map { ActivationPoint(.linearInput($0.slot.module), layer: $0.slot.layer) }
    }

    /// `target` (captured with at least `targetPoints(adapter)`) mapped into source space:
    /// one `[tokens, d_in source]` tensor per CAST layer, named by the source point it
    /// stands beside (`blocks.{source layer}.{module}.hook_in`).
    public static func mapped(_ target: ActivationSet, through adapter: CastAdapter) throws -> ActivationSet {
        // Several target layers can read one source layer (a deeper target): the shallowest
        // target layer stands for it.
        var seen = Set<ActivationPoint>()
        let layers = adapter.layers.filter { seen.insert(ActivationPoint(.linearInput($0.sourceSlot.module), layer: $0.sourceSlot.layer)).inserted }
        var out = ActivationSet(model: "\(adapter.targetName) → \(adapter.sourceName) (P_in)",
                                points: layers.map { ActivationPoint(.linearInput($0.sourceSlot.module), layer: $0.sourceSlot.layer) }.sorted())
        for layer in layers {
            let x = try target.rows(ActivationPoint(.linearInput(layer.slot.module), layer: layer.slot.layer))
            out.rows[ActivationPoint(.linearInput(layer.sourceSlot.module), layer: layer.sourceSlot.layer)] = try map(x, by: layer.cast.pIn)
        }
        out.tokens = target.tokens
        out.selectedCount = target.selectedCount
        return out
    }

    /// The target point whose rows `adapter` maps into source point `point` (a source
    /// module's input), and that CAST layer's P_in; the shallowest target layer where
    /// several read one source layer. Throws listing the source points it covers.
    public static func layer(_ adapter: CastAdapter, mappingTo point: ActivationPoint) throws -> (target: ActivationPoint, pIn: Tensor) {
        let source = { (l: CastAdapter.Layer) in ActivationPoint(.linearInput(l.sourceSlot.module), layer: l.sourceSlot.layer) }
        guard let layer = adapter.layers.first(where: { source($0) == point }) else {
            let covered = Array(Set(adapter.layers.map(source))).sorted().map(\.name)
            throw AnalysisError("the CAST adapter (\(adapter.targetName) → \(adapter.sourceName)) maps nothing into \(point.name); "
                                + "it maps into " + covered.joined(separator: ", "))
        }
        return (ActivationPoint(.linearInput(layer.slot.module), layer: layer.slot.layer), layer.cast.pIn)
    }

    /// Rows `x` (`[n, d_in target]`) mapped by `pIn` (`[d_in source, d_in target]`): `x·P_inᵀ`.
    public static func map(_ x: Tensor, by pIn: Tensor) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == pIn.shape[1] else {
            throw AnalysisError("P_in is \(pIn.shape) but the target rows are \(x.shape)")
        }
        var y = Tensor(zeros: [x.shape[0], pIn.shape[0]])
        BLAS.sgemm(transposeA: false, transposeB: true, m: x.shape[0], n: pIn.shape[0], k: pIn.shape[1],
                   a: x.data, lda: x.shape[1], b: pIn.data, ldb: pIn.shape[1], beta: 0, c: y.mutableData, ldc: pIn.shape[0])
        return y
    }
}
