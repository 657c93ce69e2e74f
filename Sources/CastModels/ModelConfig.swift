import Foundation

/// The architectures cast runs. Each has one file in `Architectures/` that reads its
/// hyperparameters and names its tensors; the shared decoder code reads `traits`.
public enum Architecture: String, Codable, Sendable, CaseIterable {
    case llama, qwen2, gemma3, gpt2
}

/// Hyperparameters of a decoder-only transformer, read from GGUF metadata or an HF
/// `config.json`. Optional features default to "absent" so a config decodes from partial JSON.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var architecture: Architecture
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var normEpsilon: Float
    public var contextLength: Int
    /// RoPE base of global layers (unused by gpt2).
    public var ropeBase: Float = 10_000
    /// Gemma 3: RoPE base and window of local (sliding-window) layers, and how often a
    /// global layer comes (every `slidingWindowPattern`-th layer is global).
    public var localRopeBase: Float? = nil
    public var slidingWindow: Int? = nil
    public var slidingWindowPattern: Int? = nil
    /// Output projection shares the token embedding.
    public var tiedEmbeddings: Bool = true
    /// Softcap on the final logits (`cap·tanh(z/cap)`) when the model defines one.
    public var finalLogitSoftcap: Float? = nil

    public init(architecture: Architecture, vocabularySize: Int, hiddenSize: Int,
                intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                headDim: Int, normEpsilon: Float, contextLength: Int) {
        self.architecture = architecture
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.normEpsilon = normEpsilon
        self.contextLength = contextLength
    }

    public var traits: ArchitectureTraits { architecture.traits }
    public var queryWidth: Int { headCount * headDim }
    public var kvWidth: Int { kvHeadCount * headDim }

    /// Sliding window of layer `layer`, nil for layers that attend to the whole context.
    public func window(ofLayer layer: Int) -> Int? {
        guard let slidingWindow else { return nil }
        guard let pattern = slidingWindowPattern else { return slidingWindow }
        return layer % pattern < pattern - 1 ? slidingWindow : nil
    }

    /// RoPE base of layer `layer` (Gemma 3's local layers use their own).
    public func ropeBase(ofLayer layer: Int) -> Float {
        window(ofLayer: layer) != nil ? (localRopeBase ?? ropeBase) : ropeBase
    }

    /// Checks the numbers are consistent; a config from a file must pass before use.
    public func validate(source: String) throws {
        func fail(_ message: String) -> ModelError { ModelError.invalidConfig(source, message) }
        for (name, value) in [("vocabularySize", vocabularySize), ("hiddenSize", hiddenSize),
                              ("intermediateSize", intermediateSize), ("layerCount", layerCount),
                              ("headCount", headCount), ("kvHeadCount", kvHeadCount),
                              ("headDim", headDim), ("contextLength", contextLength)] where value <= 0 {
            throw fail("\(name) must be positive, got \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("headCount \(headCount) is not a multiple of kvHeadCount \(kvHeadCount)")
        }
        if traits.usesRoPE && headDim % 2 != 0 {
            throw fail("RoPE needs an even head dimension, got \(headDim)")
        }
    }
}

/// What distinguishes the architectures inside a decoder layer.
public struct ArchitectureTraits: Sendable, Equatable {
    public enum Norm: Sendable { case rms, layer }
    public enum Positions: Sendable { case none, ropeAdjacent, ropeHalfSplit, learned }
    public enum FeedForward: Sendable { case gatedSiLU, gatedGELU, plainGELU }

    public var norm: Norm
    public var positions: Positions
    public var feedForward: FeedForward
    /// Biases on the q, k, v projections (qwen2, gpt2) and on o / FFN projections (gpt2).
    public var qkvBias: Bool
    public var outputBias: Bool
    /// Gemma 3: per-head RMSNorm on q and k before RoPE; norms after attention and FFN.
    public var qkNorm: Bool
    public var postNorms: Bool
    /// Gemma 3 scales the embedding by √d.
    public var scaleEmbedding: Bool

    public var usesRoPE: Bool { positions == .ropeAdjacent || positions == .ropeHalfSplit }
}

extension Architecture {
    public var traits: ArchitectureTraits {
        switch self {
        case .llama: Llama.traits
        case .qwen2: Qwen2.traits
        case .gemma3: Gemma3.traits
        case .gpt2: GPT2.traits
        }
    }
}
