import CastTensor
import Foundation

extension Transformer {
    /// Writes the model as an HF folder: `config.json`, `model.safetensors` (HF tensor names
    /// and layouts; see `HFTensorMap`) and, for byte-level BPE tokenizers, `tokenizer.json` +
    /// `tokenizer_config.json`. `loadHuggingFace(folder:)` reads it back to the same weights
    /// (exactly for F32; Gemma's norm "−1/+1" can round in the last bit). Adapters are not
    /// merged in; each file is written atomically.
    public func exportHuggingFace(to folder: URL, dtype: SafetensorsDType = .f32) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let prefix = config.architecture == .gpt2 ? "transformer." : "model."
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for entry in HFTensorMap.entries(for: config, prefix: prefix) {
            let tensor = try entry.read(weights)
            guard tensor.shape == entry.shape else {
                throw ModelError.tensorShape(name, entry.name, expected: entry.shape, actual: tensor.shape)
            }
            try writer.add(entry.name, tensor, dtype: dtype)
        }
        try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        // A stale index would point the loader at shards that are not ours.
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(HFCheckpoint.indexName))
        try HFConfigExport.json(config, tokenizer: tokenizer?.vocabulary)
            .write(to: folder.appendingPathComponent("config.json"), options: .atomic)
        if let vocabulary = tokenizer?.vocabulary, let files = try HFTokenizerExport.files(vocabulary) {
            try files.tokenizer.write(to: folder.appendingPathComponent("tokenizer.json"), options: .atomic)
            try files.config.write(to: folder.appendingPathComponent("tokenizer_config.json"), options: .atomic)
        }
    }
}

/// HF names of cast's linear projections, for adapters saved in HF/PEFT form.
public enum HFLayout {
    /// The HF module path of a projection, e.g. `model.layers.3.self_attn.q_proj`; for GPT-2,
    /// q, k and v share `transformer.h.N.attn.c_attn`, and there is no gate projection (nil).
    public static func modulePath(_ slot: AdapterSlot, architecture: Architecture) -> String? {
        slot.module.hf(architecture)?.modulePath(layer: slot.layer, architecture)
    }

    /// Reorders the output rows of a projection's weight (or of a LoRA B) from cast's order to
    /// HF's: llama q/k rows go from adjacent-pair back to rotate-half order; every other
    /// projection is unchanged.
    public static func outputRowsToHF(_ t: Tensor, module: LinearModule, config: ModelConfig) throws -> Tensor {
        try HFTransform.outputRows(module, config).export(t)
    }

    /// The inverse of `outputRowsToHF`.
    public static func outputRowsFromHF(_ t: Tensor, module: LinearModule, config: ModelConfig) throws -> Tensor {
        try HFTransform.outputRows(module, config).load(t)
    }
}
