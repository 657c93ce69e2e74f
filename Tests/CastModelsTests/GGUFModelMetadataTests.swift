import CastTestSupport
import Foundation
import Testing
@testable import CastModels

/// The metadata and tensor tables of the three cached real models, against DESIGN.md §3.
@Suite struct GGUFModelMetadataTests {
    struct Expected: Sendable, CustomStringConvertible {
        var name, arch: String
        var blocks, embedding, ffn, heads, kvHeads, vocab, tensorCount: Int
        var tokenizer, pre: String
        var epsilon, ropeBase: Float
        var embeddingType: GGMLType
        var description: String { name }
    }

    static let models: [Expected] = [
        Expected(name: "smollm2-135m", arch: "llama", blocks: 30, embedding: 576, ffn: 1536, heads: 9, kvHeads: 3,
                 vocab: 49152, tensorCount: 272, tokenizer: "gpt2", pre: "smollm", epsilon: 1e-5, ropeBase: 1e5,
                 embeddingType: .q8_0),
        Expected(name: "gemma3-270m", arch: "gemma3", blocks: 18, embedding: 640, ffn: 2048, heads: 4, kvHeads: 1,
                 vocab: 262144, tensorCount: 236, tokenizer: "llama", pre: "default", epsilon: 1e-6, ropeBase: 1e6,
                 embeddingType: .q8_0),
        Expected(name: "qwen2.5-0.5b", arch: "qwen2", blocks: 24, embedding: 896, ffn: 4864, heads: 14, kvHeads: 2,
                 vocab: 151936, tensorCount: 291, tokenizer: "gpt2", pre: "qwen2", epsilon: 1e-6, ropeBase: 1e6,
                 embeddingType: .q5_0),
    ]

    @Test(arguments: models)
    func metadataMatchesDesign(_ e: Expected) throws {
        let file = try TestModels.open(e.name)
        let m = file.metadata
        #expect(try file.architecture == e.arch)
        #expect(try m.int("\(e.arch).block_count") == e.blocks)
        #expect(try m.int("\(e.arch).embedding_length") == e.embedding)
        #expect(try m.int("\(e.arch).feed_forward_length") == e.ffn)
        #expect(try m.int("\(e.arch).attention.head_count") == e.heads)
        #expect(try m.int("\(e.arch).attention.head_count_kv") == e.kvHeads)
        #expect(try m.float("\(e.arch).attention.layer_norm_rms_epsilon") == e.epsilon)
        #expect(try m.float("\(e.arch).rope.freq_base") == e.ropeBase)
        #expect(try m.string("tokenizer.ggml.model") == e.tokenizer)
        #expect(try m.string("tokenizer.ggml.pre") == e.pre)
        #expect(try m.strings("tokenizer.ggml.tokens").count == e.vocab)
        #expect(try m.int32s("tokenizer.ggml.token_type").count == e.vocab)
        #expect(file.alignment == 32)
        #expect(file.tensors.count == e.tensorCount)

        let embd = try file.tensorInfo("token_embd.weight")
        #expect(embd.shape == [e.vocab, e.embedding])
        #expect(embd.type == e.embeddingType)
        let down = try file.tensorInfo("blk.0.ffn_down.weight")
        #expect(down.shape == [e.embedding, e.ffn])
        let norm = try file.tensorInfo("output_norm.weight")
        #expect(norm.shape == [e.embedding] && norm.type == .f32)
        // The last tensor's data ends inside the file, and no byte is claimed twice.
        let end = file.tensors.map { $0.fileOffset + $0.byteCount }.max() ?? 0
        #expect(end <= file.byteCount && file.byteCount - end < 4096)
        #expect(file.tensors.reduce(0) { $0 + $1.byteCount } <= file.byteCount - file.dataOffset)
    }

    @Test func tokenizerSpecifics() throws {
        let smol = try TestModels.open("smollm2-135m").metadata
        #expect(try smol.int("llama.vocab_size") == 49152)
        #expect(try smol.bool("tokenizer.ggml.add_bos_token") == false)
        #expect(try smol.strings("tokenizer.ggml.merges").count == 48900)
        #expect(try smol.strings("tokenizer.ggml.merges").first == "Ġ t")

        let gemma = try TestModels.open("gemma3-270m").metadata
        #expect(try gemma.int("gemma3.attention.sliding_window") == 512)
        #expect(try gemma.int("gemma3.attention.key_length") == 256)
        #expect(try gemma.bool("tokenizer.ggml.add_bos_token") == true)
        #expect(try gemma.floats("tokenizer.ggml.scores").count == 262144)
        #expect(try gemma.strings("tokenizer.ggml.tokens").prefix(3) == ["<pad>", "<eos>", "<bos>"])
        #expect(try gemma.int("tokenizer.ggml.bos_token_id") == 2)

        let qwen = try TestModels.open("qwen2.5-0.5b")
        #expect(try qwen.metadata.int("tokenizer.ggml.eos_token_id") == 151645)
        #expect(try qwen.metadata.strings("tokenizer.ggml.merges").count == 151387)
        #expect(qwen.contains(tensor: "blk.0.attn_q.bias") && qwen.contains(tensor: "output.weight"))
    }
}
