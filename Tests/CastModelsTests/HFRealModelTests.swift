import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// The real models exported to HF folders and loaded back agree with the GGUF-loaded model
/// (float32 weights, as the export): same config, logits within 1e-4 on a few prompts (the
/// llama q/k permutation and Gemma's norm +1 must round-trip), and for byte-level BPE
/// tokenizers the same token ids. The packed (default) load gives the same logits within 1e-3.
/// Heavy (up to ~2 GB of float32 per model): run in a release build.
@Suite(.serialized) struct HFRealModelTests {
    static let prompts = ["The capital of France is", "def fibonacci(n):\n    return", "1 + 2 = 3, and 17 * 23 ="]

    @Test(arguments: TestModels.names)
    func exportAndReloadMatchesGGUF(_ name: String) throws {
        let original = try Transformer.loadGGUF(path: TestModels.url(name).path, name: name, quantized: .float32)
        let tokenizer = try #require(original.tokenizer)
        let encoded = Self.prompts.map { tokenizer.encode($0).map(Int32.init) }
        let length = encoded.map(\.count).min()!
        let sequences = encoded.map { Array($0.prefix(length)) }

        let folder = try TinyModels.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let exportStart = Date()
        try original.exportHuggingFace(to: folder)
        let exportSeconds = Date().timeIntervalSince(exportStart)
        let loadStart = Date()
        let reloaded = try Transformer.loadHuggingFace(folder: folder)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        print("HF round trip \(name): export \(String(format: "%.2f", exportSeconds)) s, load \(String(format: "%.2f", loadSeconds)) s")

        #expect(reloaded.config == original.config)
        let expected = try original.logits(sequences), got = try reloaded.logits(sequences)
        let difference = TinyModels.maxDifference(expected, got)
        print("HF round trip \(name): max |Δlogit| = \(difference) over \(sequences.count)×\(length) positions")
        #expect(difference <= 1e-4)

        // The same file packed: the same weight values, summed in another order.
        let packed = try Transformer.loadGGUF(path: TestModels.url(name).path, name: name, quantized: .packed)
        #expect(packed.weights.layers[0].up.byteCount < original.weights.layers[0].up.byteCount / 3)
        let packedDifference = TinyModels.maxDifference(expected, try packed.logits(sequences))
        print("packed vs float32 \(name): max |Δlogit| = \(packedDifference)")
        #expect(packedDifference <= 1e-3)

        if tokenizer.vocabulary.model == .gpt2 {
            let back = try #require(reloaded.tokenizer, "byte-level BPE tokenizers are exported")
            for text in Self.prompts + ["  spaces\tand\nnewlines 12345 — ünïcode <|im_start|>user"] {
                #expect(back.encode(text) == tokenizer.encode(text), "\(text)")
            }
        }
    }
}
