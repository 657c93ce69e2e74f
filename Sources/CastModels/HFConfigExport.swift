import Foundation

/// The `config.json` an HF checkpoint of a cast model needs, spelled as transformers spells
/// each architecture, such that `HFWeightLoader.readConfig` gives back the same `ModelConfig`.
enum HFConfigExport {
    static func json(_ c: ModelConfig, tokenizer: TokenizerVocabulary?) throws -> Data {
        var fields: [String: Any] = ["torch_dtype": "float32", "tie_word_embeddings": c.tiedEmbeddings]
        if let bos = tokenizer?.bosId { fields["bos_token_id"] = bos }
        if let eos = tokenizer?.eosId { fields["eos_token_id"] = eos }
        if let pad = tokenizer?.padId { fields["pad_token_id"] = pad }
        switch c.architecture {
        case .gpt2:
            fields.merge([
                "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
                "vocab_size": c.vocabularySize, "n_embd": c.hiddenSize, "n_layer": c.layerCount,
                "n_head": c.headCount, "n_inner": c.intermediateSize, "n_positions": c.contextLength,
                "n_ctx": c.contextLength, "layer_norm_epsilon": number(c.normEpsilon),
                "activation_function": "gelu_new",
            ]) { _, new in new }
        case .llama, .qwen2, .gemma3:
            fields.merge([
                "vocab_size": c.vocabularySize, "hidden_size": c.hiddenSize,
                "intermediate_size": c.intermediateSize, "num_hidden_layers": c.layerCount,
                "num_attention_heads": c.headCount, "num_key_value_heads": c.kvHeadCount,
                "head_dim": c.headDim, "rms_norm_eps": number(c.normEpsilon),
                "rope_theta": number(c.ropeBase), "max_position_embeddings": c.contextLength,
                "rope_scaling": NSNull(),
            ]) { _, new in new }
            switch c.architecture {
            case .llama:
                fields.merge(["architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                              "attention_bias": false, "mlp_bias": false]) { _, new in new }
            case .qwen2:
                fields.merge(["architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
                              "use_sliding_window": false]) { _, new in new }
            default:
                fields.merge(gemmaFields(c)) { _, new in new }
            }
        }
        return try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
    }

    private static func gemmaFields(_ c: ModelConfig) -> [String: Any] {
        var fields: [String: Any] = [
            "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text",
            "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": c.headDim,
            "rope_local_base_freq": number(c.localRopeBase ?? Gemma3.defaultLocalRopeBase),
            "final_logit_softcapping": c.finalLogitSoftcap.map { number($0) as Any } ?? NSNull(),
            "attn_logit_softcapping": NSNull(),
        ]
        fields["sliding_window"] = c.slidingWindow.map { $0 as Any } ?? NSNull()
        if let pattern = c.slidingWindowPattern {
            fields["sliding_window_pattern"] = pattern
            if c.slidingWindow != nil {
                fields["layer_types"] = (0..<c.layerCount).map { c.window(ofLayer: $0) == nil ? "full_attention" : "sliding_attention" }
            }
        }
        return fields
    }

    /// A float as its shortest decimal (1e-06, not 9.99999997e-07).
    private static func number(_ value: Float) -> Double {
        Double(String(describing: value)) ?? Double(value)
    }
}
