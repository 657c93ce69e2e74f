import CastTensor
import Foundation

/// How a GGUF file's quantized matrices are held in memory.
public enum QuantizedWeights: String, Sendable, CaseIterable {
    /// 8-bit integers with a scale and offset per group (`PackedMatrix`): the file's exact
    /// values at ~1.25 bytes each; products run cast's own kernel. Frozen.
    case packed
    /// Dequantized float32 `Tensor`s (4 bytes each; products on OpenBLAS sgemm), e.g. to
    /// edit or train the base weights themselves.
    case float32

    /// `.packed` wherever a vector kernel runs (AVX2 + FMA or AVX-512); `.float32` on the
    /// portable kernels (kept for exactness checks), which are far slower than OpenBLAS.
    public static var preferred: QuantizedWeights { PackedMatrix.kernel == .portable ? .float32 : .packed }
}

extension Transformer {
    /// Loads a model by registry name (fetching it when missing), by the path of a `.gguf`
    /// file, or by the path of an HF folder (`config.json` + `*.safetensors`).
    public static func load(_ nameOrPath: String, fetchIfMissing: Bool = true,
                            quantized: QuantizedWeights = .preferred,
                            progress: FetchProgressHandler? = nil) throws -> Transformer {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return try loadHuggingFace(folder: URL(fileURLWithPath: nameOrPath)) }
            return try loadGGUF(path: nameOrPath, quantized: quantized)
        }
        if nameOrPath.hasSuffix(".gguf") || nameOrPath.contains("/") {
            throw ModelError.invalidInput("\(nameOrPath): no such file or folder")
        }
        let path = try ModelStore.path(for: nameOrPath, fetchIfMissing: fetchIfMissing, progress: progress)
        return try loadGGUF(path: path.path, name: nameOrPath, quantized: quantized)
    }

    /// Loads a GGUF model file: config from its metadata, quantized matrices packed (or
    /// dequantized to float32, see `QuantizedWeights`), other weights float32, the tokenizer
    /// from its `tokenizer.ggml.*` keys. Packed matrices come from `packedCache` when it holds
    /// them (and are written there on the first load; nil packs every time).
    public static func loadGGUF(path: String, name: String? = nil, quantized: QuantizedWeights = .preferred,
                                packedCache: PackedWeightCache? = .standard) throws -> Transformer {
        try loadGGUFReporting(path: path, name: name, quantized: quantized, packedCache: packedCache).model
    }

    /// As `loadGGUF`, saying how the packed-weight cache served the load (nil: not used).
    static func loadGGUFReporting(path: String, name: String? = nil, quantized: QuantizedWeights = .preferred,
                                  packedCache: PackedWeightCache? = .standard)
        throws -> (model: Transformer, cache: PackedWeightCache.Outcome?) {
        let file = try GGUFFile(path: path)
        let reader = try GGUFConfigReader(file)
        let config: ModelConfig
        switch reader.prefix {
        case "llama": config = try Llama.config(reader)
        case "qwen2": config = try Qwen2.config(reader)
        case "gemma3": config = try Gemma3.config(reader)
        case "gpt2": config = try GPT2.config(reader)
        default: throw ModelError.unsupportedArchitecture(path, reader.prefix)
        }
        let session = quantized == .packed ? try packedCache?.session(for: path) : nil
        let weights = try GGUFWeightLoader(file: file, config: config, packQuantized: quantized == .packed,
                                           cache: session).load()
        let outcome = session?.finish()
        let tokenizer = try Tokenizer(gguf: file)
        let displayName = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return (try Transformer(name: displayName, config: config, weights: weights, tokenizer: tokenizer), outcome)
    }

    /// Loads an HF folder: `config.json` (model_type llama, qwen2, gemma3/gemma3_text, gpt2),
    /// weights from `*.safetensors` (sharded with `model.safetensors.index.json`), and the
    /// tokenizer from `tokenizer.json` when the folder has one.
    public static func loadHuggingFace(folder: URL, name: String? = nil) throws -> Transformer {
        let loader = try HFWeightLoader(folder: folder)
        let weights = try loader.load()
        var tokenizer: Tokenizer? = nil
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) {
            tokenizer = try Tokenizer(vocabulary: TokenizerVocabulary(huggingFaceDirectory: folder))
        }
        return try Transformer(name: name ?? folder.lastPathComponent, config: loader.config,
                               weights: weights, tokenizer: tokenizer)
    }
}
