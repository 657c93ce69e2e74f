import CastModels
import Foundation

/// Reads and writes PEFT's `adapter_config.json` for LoRA.
///
/// Every field PEFT writes is known here. Those cast honours are read; informational ones
/// (task type, revision, init method…) are ignored; those that change what the adapter
/// computes and that cast does not implement (DoRA, `modules_to_save`, trainable tokens,
/// LoRA biases, layer replication…) are refused with an error naming the field, unless they
/// hold their "off" value. A field cast has never heard of is refused the same way unless
/// it is null, false or empty, so a newer PEFT's harmless defaults still load.
public enum PEFTConfigFile {
    public static let fileName = "adapter_config.json"

    /// Fields that never change the computation.
    static let informational: Set<String> = [
        "task_type", "inference_mode", "revision", "init_lora_weights", "auto_mapping", "peft_version",
        "megatron_config", "megatron_core", "loftq_config", "eva_config", "corda_config", "runtime_config",
        "base_model_name_or_path", "lora_dropout",
    ]
    /// Fields cast refuses unless they are off (null, false, "none", empty).
    static let unsupported: Set<String> = [
        "modules_to_save", "use_dora", "lora_bias", "layer_replication", "trainable_token_indices",
        "target_parameters", "exclude_modules", "use_qalora", "qalora_group_size", "alora_invocation_tokens",
        "arrow_config", "ensure_weight_tying", "bias",
    ]
    static let read: Set<String> = [
        "peft_type", "r", "lora_alpha", "target_modules", "layers_to_transform", "layers_pattern",
        "rank_pattern", "alpha_pattern", "use_rslora", "fan_in_fan_out",
    ]

    public static func parse(_ data: Data, source: String, architecture: Architecture) throws -> LoRAConfig {
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let fields) = json else {
            throw AdapterError("\(source): not a JSON object")
        }
        func fail(_ field: String, _ expected: String) -> AdapterError {
            AdapterError("\(source): field '\(field)' \(expected)")
        }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            if read.contains(key) || informational.contains(key) || value.isOff { continue }
            if key == "qalora_group_size" || key == "bias" && value.string == "none" { continue }
            if unsupported.contains(key) {
                let hint = key == "modules_to_save"
                    ? " (fully trained copies of whole modules; cast adapters hold only LoRA factors)" : ""
                throw fail(key, "is set to \(value.text); cast does not support it\(hint)")
            }
            throw fail(key, "is unknown to cast (value \(value.text)); refusing rather than ignoring it")
        }
        guard let type = fields["peft_type"] else { throw fail("peft_type", "is missing (expected \"LORA\")") }
        guard type.string == "LORA" else { throw fail("peft_type", "is \(type.text); only \"LORA\" adapters are supported") }
        guard let rValue = fields["r"] else { throw fail("r", "is missing") }
        guard let r = rValue.integer else { throw fail("r", "must be an integer, found \(rValue.text)") }
        guard let alphaValue = fields["lora_alpha"] else { throw fail("lora_alpha", "is missing") }
        guard let alpha = alphaValue.number else { throw fail("lora_alpha", "must be a number, found \(alphaValue.text)") }
        var config = LoRAConfig(rank: r, alpha: alpha, targetModules: [])
        switch fields["target_modules"] {
        case .array(let list)?:
            config.targetModules = try list.map {
                guard let name = $0.string else { throw fail("target_modules", "must be a list of strings") }
                return name
            }
        case .string(let pattern)?:
            config.targetPattern = pattern
        case nil: throw fail("target_modules", "is missing")
        default: throw fail("target_modules", "must be a list of module names or a regular expression")
        }
        switch fields["layers_to_transform"] {
        case nil, .null?: break
        case .array(let list)?:
            config.layers = try list.map {
                guard let i = $0.integer else { throw fail("layers_to_transform", "must hold integers") }
                return i
            }
        case let value?:
            guard let i = value.integer else { throw fail("layers_to_transform", "must be an integer or a list of integers") }
            config.layers = [i]
        }
        if let pattern = fields["layers_pattern"], !pattern.isOff {
            let ours = architecture == .gpt2 ? "h" : "layers"
            guard pattern == .string(ours) || pattern == .array([.string(ours)]) else {
                throw fail("layers_pattern", "is \(pattern.text); \(architecture.rawValue) models name their layers '\(ours)'")
            }
        }
        config.rankPattern = try dictionary(fields["rank_pattern"], "rank_pattern", fail) { $0.integer }
        config.alphaPattern = try dictionary(fields["alpha_pattern"], "alpha_pattern", fail) { $0.number }
        switch fields["use_rslora"] {
        case nil, .null?: break
        case .bool(let flag)?: config.useRSLoRA = flag
        case let value?: throw fail("use_rslora", "must be true or false, found \(value.text)")
        }
        if fields["fan_in_fan_out"] == .bool(true), architecture != .gpt2 {
            throw fail("fan_in_fan_out", "is true, but \(architecture.rawValue) stores its weights [out, in] (only GPT-2's Conv1D is [in, out])")
        }
        if let dropout = fields["lora_dropout"]?.number { config.dropout = dropout }
        config.baseModel = fields["base_model_name_or_path"]?.string
        try config.validate(source: source)
        return config
    }

    /// The config as PEFT writes it (keys sorted, as `save_pretrained` does).
    public static func encode(_ c: LoRAConfig, architecture: Architecture) throws -> Data {
        var fields: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": c.rank, "lora_alpha": c.alpha,
            "lora_dropout": c.dropout, "use_rslora": c.useRSLoRA, "bias": "none", "inference_mode": true,
            "fan_in_fan_out": architecture == .gpt2, "init_lora_weights": true, "use_dora": false,
            "rank_pattern": c.rankPattern, "alpha_pattern": c.alphaPattern,
            "base_model_name_or_path": c.baseModel ?? NSNull(), "modules_to_save": NSNull(),
            "layers_to_transform": c.layers ?? NSNull() as Any, "layers_pattern": NSNull(), "revision": NSNull(),
        ]
        fields["target_modules"] = c.targetPattern ?? c.targetModules as Any
        return try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
    }

    private static func dictionary<V>(_ value: JSONValue?, _ field: String, _ fail: (String, String) -> AdapterError,
                                      _ convert: (JSONValue) -> V?) throws -> [String: V] {
        guard let value, value != .null else { return [:] }
        guard case .object(let dict) = value else { throw fail(field, "must be an object") }
        var out: [String: V] = [:]
        for (k, v) in dict {
            guard let converted = convert(v) else { throw fail("\(field)['\(k)']", "must be a number") }
            out[k] = converted
        }
        return out
    }
}
