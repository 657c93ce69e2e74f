import CastTensor
import Foundation

/// Reads an HF model folder: `config.json` into a `ModelConfig`, and the weights of its
/// safetensors files (by HF tensor name, see `HFTensorMap`) into cast's layout.
struct HFWeightLoader {
    let folder: URL
    let config: ModelConfig

    /// Reads and validates `config.json`.
    init(folder: URL) throws {
        self.folder = folder
        config = try Self.readConfig(folder.appendingPathComponent("config.json"))
    }

    static func readConfig(_ url: URL) throws -> ModelConfig {
        let source = url.path
        guard let data = FileManager.default.contents(atPath: source) else {
            throw ModelError.invalidConfig(source, "cannot read the file")
        }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError.invalidConfig(source, "expected a JSON object")
            }
            root = object
        } catch let error as ModelError { throw error } catch {
            throw ModelError.invalidConfig(source, "expected valid JSON (\(error.localizedDescription))")
        }
        var hf: HFConfig
        var fields = root
        do {
            hf = try JSONDecoder().decode(HFConfig.self, from: data)
            // Multimodal Gemma 3 configs keep the language model's numbers in `text_config`.
            if hf.model_type == "gemma3", let text = root["text_config"] as? [String: Any] {
                hf = try JSONDecoder().decode(HFConfig.self, from: JSONSerialization.data(withJSONObject: text))
                fields = text
            }
        } catch let error as DecodingError {
            throw ModelError.invalidConfig(source, error.fieldDescription)
        }
        if let scaling = fields["rope_scaling"], !(scaling is NSNull) {
            throw ModelError.invalidConfig(source, "rope_scaling \(scaling) is not supported (only plain RoPE)")
        }
        for key in ["attention_bias", "mlp_bias"] where hf.model_type == "llama" && fields[key] as? Bool == true {
            throw ModelError.invalidConfig(source, "llama with \(key) = true is not supported")
        }
        let modelType = hf.model_type ?? "(missing)"
        let config: ModelConfig
        switch modelType {
        case "llama": config = try Llama.config(hf, source: source)
        case "qwen2": config = try Qwen2.config(hf, source: source)
        case "gemma3", "gemma3_text": config = try Gemma3.config(hf, source: source)
        case "gpt2": config = try GPT2.config(hf, source: source)
        default:
            throw ModelError.invalidConfig(source, "model_type '\(modelType)' is not supported (supported: llama, qwen2, gemma3, gemma3_text, gpt2)")
        }
        try config.validate(source: source)
        return config
    }

    /// Loads every weight the config calls for, checking each HF tensor's shape.
    func load() throws -> ModelWeights {
        let checkpoint = try HFCheckpoint(folder: folder)
        let prefix = try Self.prefix(for: config, in: checkpoint)
        let lmHead = ["lm_head.weight", "language_model.lm_head.weight"].first(where: checkpoint.contains) ?? "lm_head.weight"
        var weights = Self.skeleton(config)
        for entry in HFTensorMap.entries(for: config, prefix: prefix, lmHead: lmHead) {
            try entry.store(&weights, checkpoint.tensor(entry.name, shape: entry.shape))
        }
        return weights
    }

    /// Where the decoder's tensors live: `model.` (plain causal LMs), the language-model part
    /// of multimodal checkpoints, or `transformer.` / nothing for GPT-2.
    static func prefix(for config: ModelConfig, in checkpoint: HFCheckpoint) throws -> String {
        let (candidates, probe) = config.architecture == .gpt2
            ? (["transformer.", ""], "wte.weight")
            : (["model.", "model.language_model.", "language_model.model."], "embed_tokens.weight")
        guard let prefix = candidates.first(where: { checkpoint.contains($0 + probe) }) else {
            throw ModelError.missingTensor(checkpoint.folder.path, candidates[0] + probe)
        }
        return prefix
    }

    /// Weights with empty tensors, filled in entry by entry.
    static func skeleton(_ c: ModelConfig) -> ModelWeights {
        let empty = Tensor(), none = WeightMatrix.dense(empty)
        let layer = LayerWeights(attentionNorm: empty, query: none, key: none, value: none,
                                 attentionOutput: none, feedForwardNorm: empty, up: none, down: none)
        return ModelWeights(tokenEmbedding: none, layers: Array(repeating: layer, count: c.layerCount), finalNorm: empty)
    }
}
