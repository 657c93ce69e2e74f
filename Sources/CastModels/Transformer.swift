import CastTensor
import Foundation

/// A decoder-only language model: embeddings, `layerCount` decoder layers, a final norm and
/// the output projection. One type serves every architecture; `config.traits` choose the
/// variant. The model is immutable and shared: adapters (LoRA, CAST) and the arithmetic of
/// packed products are arguments of each call (`ForwardOptions`), never state on the model.
public final class Transformer {
    public let name: String
    public let config: ModelConfig
    /// Internal set only for tests that perturb weights in place (finite differences).
    public internal(set) var weights: ModelWeights
    public let tokenizer: Tokenizer?
    /// RoPE tables by base (Gemma 3 has two); nil for learned positions.
    let ropeTables: [Float: RoPE.Table]
    /// Buffers of the inference forward pass, reused across calls; the lock makes concurrent
    /// callers (two notebook cells, parallel tests) take turns instead of sharing them.
    var inferenceScratch = LayerActivations()
    let inferenceLock = NSLock()

    public init(name: String, config: ModelConfig, weights: ModelWeights, tokenizer: Tokenizer? = nil) throws {
        try config.validate(source: name)
        self.name = name
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        var tables: [Float: RoPE.Table] = [:]
        if config.traits.usesRoPE {
            for layer in 0..<config.layerCount {
                let base = config.ropeBase(ofLayer: layer)
                if tables[base] == nil {
                    tables[base] = try RoPE.Table(base: base, headDim: config.headDim,
                                                  maxPositions: config.contextLength)
                }
            }
        }
        ropeTables = tables
    }

    /// The same architecture, tokenizer and name with other weights (e.g. a LoRA merged in).
    public func replacingWeights(_ newWeights: ModelWeights, name newName: String? = nil) throws -> Transformer {
        try Transformer(name: newName ?? name, config: config, weights: newWeights, tokenizer: tokenizer)
    }

    func layer(_ index: Int, _ adapters: AdapterSet, _ arithmetic: PackedArithmetic) -> DecoderLayer {
        DecoderLayer(index: index, config: config, weights: weights.layers[index],
                     rope: ropeTables[config.ropeBase(ofLayer: index)], adapters: adapters.adapters(ofLayer: index),
                     arithmetic: arithmetic)
    }

    // MARK: embeddings

    /// Token embeddings (×√d for Gemma 3, + learned positions for GPT-2) of `rows` tokens.
    func embed(_ ids: [Int32], positions: [Int32], into x: inout Tensor) throws {
        try checkTokens(ids, positions: positions)
        try Embedding.forward(ids: ids, table: weights.tokenEmbedding, into: &x)
        if config.traits.scaleEmbedding {
            // Gemma computes √d in float32 and rounds it before scaling.
            x.scale(by: Float(config.hiddenSize).squareRoot())
        }
        if let table = weights.positionEmbedding {
            var positional = Tensor()
            try Embedding.forward(ids: positions, table: table, into: &positional)
            try x.add(positional)
        }
    }

    private func checkTokens(_ ids: [Int32], positions: [Int32]) throws {
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
            throw ModelError.invalidInput(
                "\(name): token id \(ids[bad]) at index \(bad) is outside the vocabulary (size \(config.vocabularySize))")
        }
        if let last = positions.max(), Int(last) >= config.contextLength {
            throw ModelError.invalidInput(
                "\(name): position \(last) is past the context length \(config.contextLength)")
        }
    }

    // MARK: output head

    /// `logits = W_out·h` (with the model's softcap, if any) for every row of `hidden`.
    func project(_ hidden: Tensor, arithmetic: PackedArithmetic, into logits: inout Tensor) throws {
        try Linear.forward(hidden, weight: weights.outputProjection, arithmetic: arithmetic, into: &logits)
        if let cap = config.finalLogitSoftcap {
            let p = logits.mutableData
            for i in 0..<logits.count { p[i] = cap * Foundation.tanh(p[i] / cap) }
        }
    }

    /// The final norm of the last layer's output.
    func finalNorm(_ x: Tensor, into y: inout Tensor, mean: inout Tensor, rstd: inout Tensor) throws {
        switch config.traits.norm {
        case .rms: try RMSNorm.forward(x, weight: weights.finalNorm, eps: config.normEpsilon, into: &y, rstd: &rstd)
        case .layer: try LayerNorm.forward(x, weight: weights.finalNorm, bias: weights.finalNormBias,
                                           eps: config.normEpsilon, into: &y, mean: &mean, rstd: &rstd)
        }
    }

    // MARK: inference

    /// Logits `[batch, tokens, vocab]` for token sequences (no cache, no saved activations;
    /// shorter sequences are right-padded, their padding rows hold junk).
    public func logits(_ sequences: [[Int32]], adapters: AdapterSet = .none,
                       arithmetic: PackedArithmetic = .float32) throws -> Tensor {
        var pass = ForwardPass()
        try forward(sequences, options: ForwardOptions(adapters: adapters, arithmetic: arithmetic), pass: &pass)
        return try pass.logits.reshaped([sequences.count, pass.tokens, config.vocabularySize])
    }

    /// Runs the rows of `batch` (one segment per sequence) through the model, appending them
    /// to the caches, and returns the final normed hidden state of each segment's last row,
    /// `[segments, d]` — the input of the output head for the next-token prediction.
    /// `tap` (activation capture) reads every row's activations as the layers run, as on
    /// the full forward pass; nil costs one check per layer.
    func forwardCached(_ ids: [Int32], batch: KVCacheBatch, adapters: AdapterSet,
                       arithmetic: PackedArithmetic, tap: (any ForwardTap)? = nil) throws -> Tensor {
        try adapters.validate(for: self)
        inferenceLock.lock()
        defer { inferenceLock.unlock() }
        try batch.validate(rows: ids.count, model: name)
        let positions = batch.positions
        // The packed rows as a tap sees them: one block, no padding (built only with a tap:
        // an untapped decode step allocates nothing for it).
        let tapped = tap.map { (tap: $0, layout: BatchLayout(batch: 1, tokens: ids.count, lengths: [ids.count])) }
        if let tap {
            try tap.cachedCallStarting(batch.segments.map {
                CachedSegment(sequence: $0.cache, start: $0.start, count: $0.count, firstPosition: batch.caches[$0.cache].length)
            })
        }
        var x = Tensor(), y = Tensor()
        try embed(ids, positions: positions, into: &x)
        for index in 0..<config.layerCount {
            let layer = layer(index, adapters, arithmetic)
            try layer.forward(x, positions: positions, context: .cached(batch), saved: &inferenceScratch, into: &y)
            if let tapped {
                try tapped.tap.layerFinished(layer.tapView(input: x, saved: inferenceScratch, output: y, layout: tapped.layout))
            }
            swap(&x, &y)
        }
        batch.commit()
        if let tapped {
            // The tap reads every row's final norm; the head below still norms only the last rows.
            var all = Tensor(), mean = Tensor(), rstd = Tensor()
            try finalNorm(x, into: &all, mean: &mean, rstd: &rstd)
            try tapped.tap.finalNormFinished(all, layout: tapped.layout)
        }
        // Only each segment's last row predicts the next token.
        let d = config.hiddenSize
        var last = Tensor(zeros: [batch.segments.count, d])
        for (i, s) in batch.segments.enumerated() {
            last.mutableData.advanced(by: i * d).update(from: x.data + (s.start + s.count - 1) * d, count: d)
        }
        var normed = Tensor(), mean = Tensor(), rstd = Tensor()
        try finalNorm(last, into: &normed, mean: &mean, rstd: &rstd)
        return normed
    }

    /// Next-token logits `[segments, vocab]` after feeding `batch`'s rows through the caches.
    /// The caches must have been filled with the same adapters.
    /// `tap` reads the activations of every row on the way (see `forwardCached`).
    public func nextTokenLogits(_ ids: [Int32], batch: KVCacheBatch, adapters: AdapterSet = .none,
                                arithmetic: PackedArithmetic = .float32, tap: (any ForwardTap)? = nil) throws -> Tensor {
        var logits = Tensor()
        try project(try forwardCached(ids, batch: batch, adapters: adapters, arithmetic: arithmetic, tap: tap),
                    arithmetic: arithmetic, into: &logits)
        return logits
    }
}
