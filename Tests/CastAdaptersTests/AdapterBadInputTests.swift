import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// Adapters that do not fit, broken configs and files: a clear error naming what and where.
@Suite("LoRA bad input: configs, tensors, shapes, files")
struct AdapterBadInputTests {
    static let llama = TinyModels.config(.llama)

    /// A valid PEFT config with `edit` applied to its fields.
    static func config(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var fields: [String: Any] = ["peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"],
                                     "task_type": "CAUSAL_LM", "future_option": NSNull(), "use_new_trick": false]
        edit(&fields)
        return try JSONSerialization.data(withJSONObject: fields)
    }

    static func parse(_ data: Data) throws -> LoRAConfig {
        try PEFTConfigFile.parse(data, source: "adapter_config.json", architecture: .llama)
    }

    @Test func harmlessUnknownFieldsAreAccepted() throws {
        #expect(try Self.parse(Self.config { _ in }).rank == 2)
    }

    @Test(arguments: [
        ("modules_to_save", "[\"lm_head\"]", "field 'modules_to_save' is set to [\"lm_head\"]; cast does not support it (fully trained copies of whole modules; cast adapters hold only LoRA factors)"),
        ("use_dora", "true", "field 'use_dora' is set to true; cast does not support it"),
        ("some_new_feature", "3", "field 'some_new_feature' is unknown to cast (value 3); refusing rather than ignoring it"),
        ("peft_type", "\"PREFIX_TUNING\"", "field 'peft_type' is \"PREFIX_TUNING\"; only \"LORA\" adapters are supported"),
        ("r", "\"8\"", "field 'r' must be an integer, found \"8\""),
        ("fan_in_fan_out", "true", "field 'fan_in_fan_out' is true, but llama stores its weights [out, in] (only GPT-2's Conv1D is [in, out])"),
        ("rank_pattern", "{\"q_proj\": 0}", "rank_pattern['q_proj'] must be a positive integer, got 0"),
    ])
    func refusedFields(_ field: String, _ json: String, _ message: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let data = try Self.config { $0[field] = value }
        #expect(throws: AdapterError("adapter_config.json: " + message)) { try Self.parse(data) }
    }

    @Test func missingFieldsAreNamed() throws {
        for field in ["r", "lora_alpha", "target_modules", "peft_type"] {
            let data = try Self.config { $0.removeValue(forKey: field) }
            #expect(throws: AdapterError.self) { try Self.parse(data) }
            do { _ = try Self.parse(data) } catch { #expect("\(error)".contains("'\(field)'"), "\(error)") }
        }
        #expect(throws: AdapterError("adapter_config.json: not a JSON object")) { try Self.parse(Data("[1, 2".utf8)) }
    }

    @Test func targetsThatMatchNothingListTheModules() throws {
        let config = LoRAConfig(rank: 2, alpha: 2, targetModules: ["c_attn"])
        #expect(throws: AdapterError("LoRA config: target_modules [\"c_attn\"] match no module of this llama model (its modules: down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj)")) {
            try LoRAAdapter(for: Self.llama, config: config, seed: 0)
        }
    }

    /// A saved folder, with its safetensors rewritten by `edit` (tensor name → tensor).
    static func folder(_ edit: (inout [String: Tensor]) -> Void) throws -> URL {
        let lora = try LoRAAdapter(for: Self.llama, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj"]),
                                   seed: 1, bStd: 0.1)
        let folder = try TestSupport.temporaryFolder()
        try PEFTAdapterFolder.save(lora, for: Self.llama, to: folder)
        let url = folder.appendingPathComponent(PEFTAdapterFolder.weightsName)
        let file = try SafetensorsFile(url: url)
        var tensors = Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0)) })
        edit(&tensors)
        var writer = SafetensorsWriter()
        for (name, t) in tensors { try writer.add(name, t) }
        try writer.write(to: url)
        return folder
    }

    static let qA = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"

    @Test func missingExtraAndMisshapenTensors() throws {
        let missing = try Self.folder { $0.removeValue(forKey: Self.qA) }
        #expect(throws: AdapterError("\(missing.path)/adapter_model.safetensors: tensor '\(Self.qA)' is missing")) {
            try PEFTAdapterFolder.load(missing, for: Self.llama)
        }
        let dora = try Self.folder { $0["base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"] = Tensor(zeros: [16]) }
        #expect(throws: AdapterError.self) { try PEFTAdapterFolder.load(dora, for: Self.llama) }
        let shape = try Self.folder { $0[Self.qA] = Tensor(zeros: [2, 15]) }
        #expect(throws: AdapterError("\(shape.path)/adapter_model.safetensors: model.layers.1.self_attn.q_proj: lora_A [2, 15], lora_B [16, 2]; the model's projection needs [2, 16] and [16, 2] (rank 2 from the config)")) {
            try PEFTAdapterFolder.load(shape, for: Self.llama)
        }
        let nan = try Self.folder { var t = $0[Self.qA]!; t.mutableData[3] = .nan; $0[Self.qA] = t }
        #expect(throws: AdapterError("\(nan.path)/adapter_model.safetensors: model.layers.1.self_attn.q_proj holds NaN or infinite values")) {
            try PEFTAdapterFolder.load(nan, for: Self.llama)
        }
        // The same NaN in a GGUF-LoRA file is refused too, naming the tensor.
        let gguf = try TestSupport.temporaryFolder().appendingPathComponent("nan.gguf")
        let lora = try PEFTAdapterFolder.load(try Self.folder { _ in }, for: Self.llama)
        lora.modules.first { $0.path == "model.layers.1.self_attn.q_proj" }!.factors.a.mutableData[3] = .nan
        try GGUFLoRAFile.save(lora, for: Self.llama, to: gguf)
        #expect(throws: AdapterError("\(gguf.path): tensor 'blk.1.attn_q.weight.lora_a' holds NaN or infinite values")) {
            try GGUFLoRAFile.load(gguf, for: Self.llama)
        }
    }

    /// An adapter for one model on another: the shapes are refused, naming the module.
    @Test func adapterForAnotherModel() throws {
        let folder = try Self.folder { _ in }
        var wider = Self.llama
        wider.hiddenSize = 32
        #expect(throws: AdapterError.self) { try PEFTAdapterFolder.load(folder, for: wider) }
        var shallower = Self.llama
        shallower.layerCount = 1
        do { _ = try PEFTAdapterFolder.load(folder, for: shallower); Issue.record("a 2-layer adapter loaded into 1 layer") }
        catch { #expect("\(error)".contains("layers.1"), "\(error)") }
        let gguf = try TestSupport.temporaryFolder().appendingPathComponent("a.gguf")
        try GGUFLoRAFile.save(try PEFTAdapterFolder.load(folder, for: Self.llama), for: Self.llama, to: gguf)
        #expect(throws: AdapterError("\(gguf.path): a LoRA for llama models; the model is qwen2")) {
            try GGUFLoRAFile.load(gguf, for: TinyModels.config(.qwen2))
        }
    }

    /// A truncated weights file is reported, never a crash; the folder without its config is
    /// named as not an adapter.
    @Test func truncatedAndMissingFiles() throws {
        let folder = try Self.folder { _ in }
        let url = folder.appendingPathComponent(PEFTAdapterFolder.weightsName)
        let bytes = try Data(contentsOf: url)
        for cut in [4, 12, bytes.count / 2, bytes.count - 1] {
            try bytes.prefix(cut).write(to: url)
            #expect(throws: (any Error).self) { try PEFTAdapterFolder.load(folder, for: Self.llama) }
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent(PEFTConfigFile.fileName))
        #expect(throws: AdapterError("\(folder.path): no adapter_config.json (not a PEFT adapter folder)")) {
            try PEFTAdapterFolder.load(folder, for: Self.llama)
        }
    }
}
