import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// HF folders: export and reload of tiny random models of every architecture, layout
/// facts checked against independent reasoning (the llama RoPE permutation, Gemma's +1,
/// GPT-2's Conv1D), sharded checkpoints, and clear errors for bad folders.
@Suite struct HFFolderTests {
    /// Export → reload gives the same config and logits within 1e-5 (exact weights but
    /// Gemma's −1/+1, which can round in the last bit).
    @Test(arguments: Architecture.allCases)
    func roundTrip(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.exportHuggingFace(to: folder)
        let back = try Transformer.loadHuggingFace(folder: folder)
        #expect(back.config == model.config)
        let expected = try model.logits(TinyModels.sequences()), got = try back.logits(TinyModels.sequences())
        #expect(TinyModels.maxDifference(expected, got) <= 1e-5)
        if architecture != .gemma3 {
            #expect(back.weights.layers[1].query.tensor == model.weights.layers[1].query.tensor)
            #expect(back.weights.layers[0].key.tensor == model.weights.layers[0].key.tensor)
        }
    }

    /// The exported llama q/k rows are in HF's rotate-half order: the same weights run with
    /// half-split RoPE (a qwen2 model with zero biases) give the llama model's logits.
    @Test func llamaExportIsRotateHalfOrder() throws {
        let llama = try TinyModels.model(.llama)
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try llama.exportHuggingFace(to: folder)
        let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        var config = llama.config
        config.architecture = .qwen2
        var weights = llama.weights
        for i in 0..<config.layerCount {
            weights.layers[i].query = .dense(try file.tensor("model.layers.\(i).self_attn.q_proj.weight"))
            weights.layers[i].key = .dense(try file.tensor("model.layers.\(i).self_attn.k_proj.weight"))
            weights.layers[i].queryBias = Tensor(zeros: [config.queryWidth])
            weights.layers[i].keyBias = Tensor(zeros: [config.kvWidth])
            weights.layers[i].valueBias = Tensor(zeros: [config.kvWidth])
        }
        #expect(weights.layers[0].query.tensor != llama.weights.layers[0].query.tensor, "the export must permute q rows")
        let halfSplit = try Transformer(name: "rotate-half", config: config, weights: weights)
        let d = TinyModels.maxDifference(try llama.logits(TinyModels.sequences()), try halfSplit.logits(TinyModels.sequences()))
        #expect(d <= 1e-5)
    }

    /// HF Gemma norms are stored without the +1; GPT-2's Conv1D weights are `[in, out]` with
    /// q, k, v fused in that order.
    @Test func gemmaNormsAndGPT2Conv1DLayout() throws {
        let gemma = try TinyModels.model(.gemma3)
        let gpt2 = try TinyModels.model(.gpt2)
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try gemma.exportHuggingFace(to: folder.appendingPathComponent("gemma"))
        try gpt2.exportHuggingFace(to: folder.appendingPathComponent("gpt2"))
        let g = try SafetensorsFile(url: folder.appendingPathComponent("gemma/model.safetensors"))
        let qNorm = try g.tensor("model.layers.1.self_attn.q_norm.weight")
        #expect(TinyModels.maxDifference(qNorm.adding(1), gemma.weights.layers[1].queryNorm!) <= 1e-6)
        #expect(g.contains("model.layers.0.pre_feedforward_layernorm.weight") && !g.contains("lm_head.weight"))
        let p = try SafetensorsFile(url: folder.appendingPathComponent("gpt2/model.safetensors"))
        let cAttn = try p.tensor("transformer.h.1.attn.c_attn.weight")
        let d: Int = gpt2.config.hiddenSize
        #expect(cAttn.shape == [d, 3 * d])
        let l = gpt2.weights.layers[1]
        // c_attn[i, d + j] is k[j, i]; c_attn[i, 2d + j] is v[j, i].
        let keyIndex: Int = 5 * 3 * d + d + 7, valueIndex: Int = 3 * 3 * d + 2 * d + 1
        #expect(cAttn.data[keyIndex] == l.key.tensor.data[7 * d + 5])
        #expect(cAttn.data[valueIndex] == l.value.tensor.data[1 * d + 3])
        let config = try String(contentsOf: folder.appendingPathComponent("gpt2/config.json"), encoding: .utf8)
        #expect(config.contains("\"model_type\" : \"gpt2\"") && config.contains("\"n_embd\" : \(d)"))
    }

    /// A checkpoint split into shards with an index loads the same weights.
    @Test func shardedCheckpoint() throws {
        let model = try TinyModels.model(.qwen2)
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.exportHuggingFace(to: folder)
        let whole = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        var shards = [SafetensorsWriter(), SafetensorsWriter()]
        var weightMap: [String: String] = [:]
        for (i, name) in whole.names.enumerated() {
            try shards[i % 2].add(name, whole.tensor(name))
            weightMap[name] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        for (i, shard) in shards.enumerated() { try shard.write(to: folder.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors")) }
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": weightMap])
            .write(to: folder.appendingPathComponent(HFCheckpoint.indexName))
        let back = try Transformer.loadHuggingFace(folder: folder)
        #expect(TinyModels.maxDifference(try model.logits(TinyModels.sequences()), try back.logits(TinyModels.sequences())) == 0)
    }

    /// A tensor of the wrong shape names the file, the tensor and both shapes.
    @Test func wrongShapeNamesTensorAndShapes() throws {
        let model = try TinyModels.model(.llama)
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.exportHuggingFace(to: folder)
        let url = folder.appendingPathComponent("model.safetensors")
        let file = try SafetensorsFile(url: url)
        let c = model.config
        let expected = [c.intermediateSize, c.hiddenSize], wrong = [c.intermediateSize - 1, c.hiddenSize]
        var writer = SafetensorsWriter()
        for name in file.names {
            let t = try file.tensor(name)
            try writer.add(name, name == "model.layers.1.mlp.up_proj.weight" ? Tensor(zeros: wrong) : t)
        }
        try writer.write(to: url)
        let error = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(error == .tensorShape(url.path, "model.layers.1.mlp.up_proj.weight", expected: expected, actual: wrong))
        #expect(error.description.contains("model.layers.1.mlp.up_proj.weight") && error.description.contains("\(wrong)")
                && error.description.contains("\(expected)") && error.description.contains(url.path))
    }

    @Test func badFoldersGiveClearErrors() throws {
        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.json")
        var e = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(e.description.contains("config.json"))
        try Data(#"{"model_type": "mamba"}"#.utf8).write(to: config)
        e = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(e.description.contains("mamba") && e.description.contains("gemma3_text"))
        try Data(#"{"model_type": "llama", "hidden_size": "big"}"#.utf8).write(to: config)
        e = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(e.description.contains("hidden_size"))
        try Data(#"{"model_type": "llama", "hidden_size": 32, "vocab_size": 61, "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 4, "rope_scaling": {"rope_type": "llama3", "factor": 8}}"#.utf8).write(to: config)
        e = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(e.description.contains("rope_scaling"))
        try Data(#"{"model_type": "llama", "hidden_size": 32, "vocab_size": 61, "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 4}"#.utf8).write(to: config)
        e = try #require(throws: ModelError.self) { _ = try Transformer.loadHuggingFace(folder: folder) }
        #expect(e.description.contains("no *.safetensors"))
    }

    /// Gemma 3's `layer_types` list becomes the sliding-window pattern; irregular lists fail.
    @Test func gemmaLayerTypes() throws {
        let sliding = "sliding_attention", full = "full_attention"
        #expect(try Gemma3.pattern(of: [sliding, sliding, full, sliding, sliding, full, sliding], source: "c") == 3)
        #expect(throws: ModelError.self) { try Gemma3.pattern(of: [sliding, full, full], source: "c") }
    }
}
