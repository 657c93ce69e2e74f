import CastModels
import CastTensor

/// Cross-LoRA, the data-free baseline: each source module's LoRA projected through the
/// two models' weight subspaces. Per module, with rank-k truncated SVDs `W_s ≈ U_s Σ_s V_sᵀ`
/// and `W_t ≈ U_t Σ_t V_tᵀ` (k the smallest of the four widths), `B_t = U_t·U_sᵀ·B_s` and
/// `A_t = A_s·V_s·V_tᵀ`: the dimension-consistent reading of the paper's equations (which
/// do not type-check across widths). Same rank and scale as the source module.
public enum CrossLoRA {
    public static func transfer(_ lora: LoRAAdapter, source: Transformer, target: Transformer,
                                layerMap: LayerMapping = .index) throws -> LoRAAdapter {
        try lora.adapters.validate(for: source)
        let pairs = try layerMap.pairs(sourceLayers: source.config.layerCount, targetLayers: target.config.layerCount)
        let targetModules = LinearModule.modules(of: target.config.architecture)
        var svds: [String: SingularValueDecomposition] = [:]
        func svd(_ model: Transformer, _ slot: AdapterSlot, _ k: Int) throws -> SingularValueDecomposition {
            let key = "\(model.name)/\(slot)/\(k)"
            if let d = svds[key] { return d }
            guard let w = slot.module.weight(in: model.weights.layers[slot.layer]) else {
                throw AdapterError("\(model.name) has no weight for \(slot)")
            }
            let d = try SVD.truncated(w.tensor, rank: k)
            svds[key] = d
            return d
        }
        var out: [(AdapterSlot, LoRAFactors)] = []
        for targetLayer in pairs.keys.sorted() {
            for module in lora.modules {
                for (slot, rows) in module.slots where slot.layer == pairs[targetLayer]! {
                    guard rows == 0..<module.factors.outputWidth else {
                        throw AdapterError("Cross-LoRA: \(module.path) is fused (GPT-2 c_attn); not supported")
                    }
                    guard targetModules.contains(slot.module) else {
                        throw AdapterError("\(target.name) has no \(slot.module.rawValue) for the LoRA's \(module.path)")
                    }
                    let targetSlot = AdapterSlot(layer: targetLayer, module: slot.module)
                    let s = slot.module.shape(in: source.config), t = slot.module.shape(in: target.config)
                    let k = min(s.input, s.output, t.input, t.output)
                    let ds = try svd(source, slot, k), dt = try svd(target, targetSlot, k)
                    // A_t = (A_s·V_s)·V_tᵀ, B_t = U_t·(U_sᵀ·B_s)
                    let av = try Tensor.matmul(module.factors.a, ds.vt, transposeB: true)
                    let a = try Tensor.matmul(av, dt.vt)
                    let ub = try Tensor.matmul(ds.u, module.factors.b, transposeA: true)
                    let b = try Tensor.matmul(dt.u, ub)
                    out.append((targetSlot, try LoRAFactors(a: a, b: b, scale: module.factors.scale, trainable: false)))
                }
            }
        }
        return try LoRAAdapter(bySlot: out, model: target.config, source: "Cross-LoRA for \(target.name)")
    }
}
