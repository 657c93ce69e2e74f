import CastModels
import CastTensor
import Foundation

/// The GGUF-LoRA files llama.cpp loads (`--lora`): `general.type = adapter`,
/// `adapter.type = lora`, `adapter.lora.alpha`, `general.architecture` of the base, and per
/// module `blk.N.<gguf name>.weight.lora_a` (ne `[in, r]`) and `.lora_b` (ne `[r, out]`),
/// float32, rows in GGUF order (cast's own: no RoPE permutation to undo).
///
/// llama.cpp scales every module by `alpha / r` with one alpha for the file. When the
/// adapter's modules do not share one `scale·r` (rank or alpha patterns, rsLoRA with mixed
/// ranks), the file gets alpha 0, which llama.cpp reads as scale 1, and each B carries its
/// module's scale.
public enum GGUFLoRAFile {
    public static func save(_ adapter: LoRAAdapter, for model: ModelConfig, to url: URL) throws {
        let products = Set(adapter.modules.map { $0.factors.scale * Float($0.factors.rank) })
        let shared = products.count == 1 ? products.first! : nil
        var writer = try GGUFWriter()
        writer.set("general.architecture", .string(model.architecture.rawValue))
        writer.set("general.type", .string("adapter"))
        writer.set("adapter.type", .string("lora"))
        writer.set("adapter.lora.alpha", .float32(shared ?? 0))
        for module in adapter.modules {
            let stem = try name(of: module, model)
            var b = module.factors.b
            if shared == nil { b.scale(by: module.factors.scale) }
            try writer.addTensor(stem + ".lora_a", shape: module.factors.a.shape, values: module.factors.a.scalars)
            try writer.addTensor(stem + ".lora_b", shape: b.shape, values: b.scalars)
        }
        try writer.write(to: url)
    }

    /// Reads a GGUF-LoRA for `model` (its architecture and shapes must fit).
    public static func load(_ url: URL, for model: ModelConfig) throws -> LoRAAdapter {
        let file = try GGUFFile(url: url)
        let source = url.path
        let meta = file.metadata
        guard (try? meta.string("general.type")) == "adapter", (try? meta.string("adapter.type")) == "lora" else {
            throw AdapterError("\(source): not a GGUF LoRA adapter (general.type must be \"adapter\" and adapter.type \"lora\")")
        }
        let arch = try meta.string("general.architecture")
        guard arch == model.architecture.rawValue else {
            throw AdapterError("\(source): a LoRA for \(arch) models; the model is \(model.architecture.rawValue)")
        }
        let alpha = meta.contains("adapter.lora.alpha") ? try meta.float("adapter.lora.alpha") : 0
        // Which module each tensor stem names.
        var stems: [String: (layer: Int, peft: String)] = [:]
        for layer in 0..<model.layerCount {
            for module in LinearModule.modules(of: model.architecture) {
                let hf = module.hf(model.architecture)!
                stems["blk.\(layer).\(hf.fusedPart == nil ? module.ggufName : "attn_qkv").weight"] = (layer, hf.peftName)
            }
        }
        var pairs: [String: (a: Tensor?, b: Tensor?)] = [:]
        for info in file.tensors {
            let isA = info.name.hasSuffix(".lora_a"), isB = info.name.hasSuffix(".lora_b")
            let stem = String(info.name.dropLast(isA || isB ? 7 : 0))
            guard isA || isB, stems[stem] != nil else {
                throw AdapterError("\(source): tensor '\(info.name)' is not the lora_a/lora_b of a projection of this model")
            }
            let t = try file.dequantize(info)
            if t.scalars.contains(where: { !$0.isFinite }) {
                throw AdapterError("\(source): tensor '\(info.name)' holds NaN or infinite values")
            }
            if isA { pairs[stem, default: (nil, nil)].a = t } else { pairs[stem, default: (nil, nil)].b = t }
        }
        guard !pairs.isEmpty else { throw AdapterError("\(source): the file holds no LoRA tensors") }
        var layers = Set<Int>(), names = Set<String>()
        var ranks: [String: Int] = [:], factors: [String: LoRAFactors] = [:]
        for (stem, pair) in pairs {
            guard let a = pair.a, let b = pair.b, a.rank == 2, b.rank == 2 else {
                throw AdapterError("\(source): \(stem) needs both lora_a and lora_b matrices")
            }
            let (layer, peft) = stems[stem]!
            layers.insert(layer)
            names.insert(peft)
            let r = a.shape[0]
            let path = (model.architecture == .gpt2 ? "transformer.h.\(layer)." : "model.layers.\(layer).")
                + LinearModule.modules(of: model.architecture).compactMap { $0.hf(model.architecture) }
                    .first { $0.peftName == peft }!.path
            ranks[path] = r
            factors[path] = try LoRAFactors(a: a, b: b, scale: alpha == 0 ? 1 : alpha / Float(r), trainable: false)
        }
        // Rank is per module; alpha as the file says (alpha 0: scale 1, i.e. alpha = r).
        let rank = ranks.values.max()!
        var config = LoRAConfig(rank: rank, alpha: alpha == 0 ? Double(rank) : Double(alpha),
                                targetModules: names.sorted(), layers: layers.sorted())
        for (path, r) in ranks where r != rank { config.rankPattern[path] = r }
        if alpha == 0 { for (path, r) in ranks where r != rank { config.alphaPattern[path] = Double(r) } }
        return try LoRAAdapter(config: config, model: model, factors: factors, source: source)
    }

    private static func name(of module: LoRAAdapter.Module, _ model: ModelConfig) throws -> String {
        guard let first = module.slots.first?.slot else { throw AdapterError("\(module.path): no slots") }
        let stem = module.slots.count > 1 ? "attn_qkv" : first.module.ggufName
        return "blk.\(first.layer).\(stem).weight"
    }
}
