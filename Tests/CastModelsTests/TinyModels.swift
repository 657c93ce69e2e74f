import CastTensor
import Foundation
@testable import CastModels

/// Small random models of each architecture, built directly from `LayerWeights` (not
/// through any loader), for round-trip tests that run in a debug build.
enum TinyModels {
    static func config(_ architecture: Architecture) -> ModelConfig {
        var c = ModelConfig(architecture: architecture, vocabularySize: 61, hiddenSize: 32, intermediateSize: 48,
                            layerCount: 3, headCount: 4, kvHeadCount: architecture == .gpt2 ? 4 : 2,
                            headDim: architecture == .gemma3 ? 16 : 8, normEpsilon: 1e-5, contextLength: 64)
        switch architecture {
        case .gemma3:
            c.ropeBase = 1_000_000
            c.localRopeBase = 10_000
            c.slidingWindow = 4
            c.slidingWindowPattern = 2
        case .llama: c.ropeBase = 100_000
        case .qwen2:
            c.ropeBase = 1_000_000
            c.tiedEmbeddings = false
        case .gpt2: break
        }
        return c
    }

    static func model(_ architecture: Architecture, seed: UInt64 = 7) throws -> Transformer {
        let c = config(architecture), t = c.traits, d = c.hiddenSize, f = c.intermediateSize
        var seed = seed
        func random(_ shape: [Int], mean: Float = 0, std: Float = 0.2) -> Tensor {
            seed &+= 1
            return Tensor.randomNormal(shape, mean: mean, std: std, seed: seed)
        }
        func norm(_ n: Int) -> Tensor { random([n], mean: 1, std: 0.1) }
        let layers = (0..<c.layerCount).map { _ in
            LayerWeights(
                attentionNorm: norm(d), attentionNormBias: t.norm == .layer ? random([d]) : nil,
                query: random([c.queryWidth, d]), key: random([c.kvWidth, d]), value: random([c.kvWidth, d]),
                attentionOutput: random([d, c.queryWidth]),
                queryBias: t.qkvBias ? random([c.queryWidth]) : nil, keyBias: t.qkvBias ? random([c.kvWidth]) : nil,
                valueBias: t.qkvBias ? random([c.kvWidth]) : nil, attentionOutputBias: t.outputBias ? random([d]) : nil,
                queryNorm: t.qkNorm ? norm(c.headDim) : nil, keyNorm: t.qkNorm ? norm(c.headDim) : nil,
                postAttentionNorm: t.postNorms ? norm(d) : nil,
                feedForwardNorm: norm(d), feedForwardNormBias: t.norm == .layer ? random([d]) : nil,
                gate: t.feedForward == .plainGELU ? nil : random([f, d]), up: random([f, d]), down: random([d, f]),
                upBias: t.outputBias ? random([f]) : nil, downBias: t.outputBias ? random([d]) : nil,
                postFeedForwardNorm: t.postNorms ? norm(d) : nil)
        }
        let weights = ModelWeights(
            tokenEmbedding: random([c.vocabularySize, d], std: 1),
            positionEmbedding: t.positions == .learned ? random([c.contextLength, d]) : nil,
            layers: layers, finalNorm: norm(d), finalNormBias: t.norm == .layer ? random([d]) : nil,
            output: c.tiedEmbeddings ? nil : random([c.vocabularySize, d]))
        return try Transformer(name: "tiny-\(architecture.rawValue)", config: c, weights: weights)
    }

    static let sequences: [[Int32]] = [[1, 5, 9, 2, 33, 60, 7, 7, 12, 0], [3, 3, 3, 40, 41, 42, 43, 10, 11, 59]]

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cast-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }
}
