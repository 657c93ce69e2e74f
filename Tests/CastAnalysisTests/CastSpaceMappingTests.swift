import CastAdapters
import CastModels
import CastTensor
import Testing
@testable import CastAnalysis

@Suite struct CastSpaceMappingTests {
    /// Target activations at each CAST layer's module input, mapped by P_in, are P_in·x_t
    /// for every row, named by the source point they stand beside.
    @Test func targetInputsMapThroughPIn() throws {
        let source = try TinyModels.model(.llama, seed: 11)
        let target = try TinyModels.wideQwen2(tiedEmbeddings: TinyModels.config(.qwen2).tiedEmbeddings)
        let lora = try LoRAAdapter(for: source.config, config: LoRAConfig(rank: 3, alpha: 6, targetModules: ["q_proj", "down_proj"]),
                                   seed: 4, bStd: 0.3)
        let adapter = try CastAdapter(lora: lora, source: source, target: target)
        let points = CastSpaceMapping.targetPoints(adapter)
        #expect(!points.isEmpty)
        let set = try ActivationCapture.run(target, sequences: [CaptureSequence(ids: [1, 5, 9, 2, 7])], points: points)
        let mapped = try CastSpaceMapping.mapped(set, through: adapter)
        var seen = Set<ActivationPoint>()
        for layer in adapter.layers {
            let sourcePoint = ActivationPoint(.linearInput(layer.sourceSlot.module), layer: layer.sourceSlot.layer)
            // Where two target layers read one source layer, the shallower stands for it.
            guard seen.insert(sourcePoint).inserted else { continue }
            let y = try #require(mapped.rows[sourcePoint])
            let x = try set.rows(ActivationPoint(.linearInput(layer.slot.module), layer: layer.slot.layer))
            let p = layer.cast.pIn
            #expect(y.shape == [5, p.shape[0]])
            #expect(p.shape[0] == layer.slot.module.shape(in: source.config).input)
            if y.shape == [5, p.shape[0]] {
                for r in 0..<5 {
                    for i in 0..<p.shape[0] {
                        var s = 0.0
                        for j in 0..<p.shape[1] { s += Double(p.data[i * p.shape[1] + j]) * Double(x.data[r * p.shape[1] + j]) }
                        if abs(Double(y.data[r * p.shape[0] + i]) - s) > 1e-4 * max(1, abs(s)) {
                            Issue.record("row \(r), \(i): \(y.data[r * p.shape[0] + i]) vs \(s)")
                        }
                    }
                }
            }
        }
    }

    /// The CAST layer that maps into a source point gives the target point to read and its
    /// P_in (what `cast pca --model-b --cast-adapter` draws); a point it does not map says which it does.
    @Test func layerForASourcePoint() throws {
        let source = try TinyModels.model(.llama, seed: 11)
        let target = try TinyModels.model(.qwen2, seed: 12)
        let lora = try LoRAAdapter(for: source.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj"]), seed: 4, bStd: 0.3)
        let adapter = try CastAdapter(lora: lora, source: source, target: target)
        let first = try #require(adapter.layers.first)
        let sourcePoint = ActivationPoint(.linearInput(first.sourceSlot.module), layer: first.sourceSlot.layer)
        let (targetPoint, pIn) = try CastSpaceMapping.layer(adapter, mappingTo: sourcePoint)
        #expect(targetPoint == ActivationPoint(.linearInput(first.slot.module), layer: first.slot.layer))
        let set = try ActivationCapture.run(target, sequences: [CaptureSequence(ids: [1, 5, 9, 2, 7])],
                                            points: CastSpaceMapping.targetPoints(adapter))
        let mapped = try CastSpaceMapping.map(try set.rows(targetPoint), by: pIn)
        #expect(mapped.shape == [5, pIn.shape[0]])
        #expect(try CastSpaceMapping.mapped(set, through: adapter).rows(sourcePoint).scalars == mapped.scalars)
        #expect(throws: AnalysisError.self) {
            try CastSpaceMapping.layer(adapter, mappingTo: ActivationPoint(.linearInput(.down), layer: 0))
        }
    }
}
