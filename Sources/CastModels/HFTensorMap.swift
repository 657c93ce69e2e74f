import CastTensor

/// How cast's weights correspond to the tensors of an HF checkpoint, one entry per HF tensor,
/// used in both directions: loading (HF → cast) and exporting (cast → HF). Keeping one table
/// is what makes export and reload round-trip exactly.
///
/// Differences the table carries (cast stores weights as GGUF does):
/// - llama q/k rows are permuted so that RoPE pairs adjacent elements; HF keeps rotate-half
///   order (llama.cpp's `permute` in convert_hf_to_gguf.py);
/// - Gemma's RMSNorm weights are stored in HF without the "+1" the forward pass adds;
/// - GPT-2's Conv1D weights are `[in, out]` and q, k, v are one fused `c_attn`.
struct HFTensorEntry {
    let name: String
    /// The shape the tensor has in the HF checkpoint.
    let shape: [Int]
    /// HF tensor → cast weights.
    let store: (inout ModelWeights, Tensor) throws -> Void
    /// cast weights → HF tensor.
    let read: (ModelWeights) throws -> Tensor
}

/// Reversible per-tensor transforms between cast and HF layouts.
enum HFTransform {
    case identity
    /// Llama q/k: `heads` heads of `headDim` rows each.
    case ropePermutation(heads: Int, headDim: Int)
    /// Gemma RMSNorm weights: HF w, cast 1 + w.
    case gemmaNorm
    /// GPT-2 Conv1D: HF `[in, out]`, cast `[out, in]`.
    case transpose

    func load(_ t: Tensor) throws -> Tensor {
        switch self {
        case .identity: t
        case .ropePermutation(let heads, let headDim): try Self.permuteRows(t, heads: heads, headDim: headDim, toAdjacent: true)
        case .gemmaNorm: t.adding(1)
        case .transpose: try t.transposed()
        }
    }

    func export(_ t: Tensor) throws -> Tensor {
        switch self {
        case .identity: t
        case .ropePermutation(let heads, let headDim): try Self.permuteRows(t, heads: heads, headDim: headDim, toAdjacent: false)
        case .gemmaNorm: t.adding(-1)
        case .transpose: try t.transposed()
        }
    }

    /// How a projection's output rows (its weight's, bias's or a LoRA B's) differ between
    /// cast and HF: llama's q/k rows are permuted for RoPE; nothing else is.
    static func outputRows(_ module: LinearModule, _ c: ModelConfig) -> HFTransform {
        guard c.traits.positions == .ropeAdjacent else { return .identity }
        switch module {
        case .query: return .ropePermutation(heads: c.headCount, headDim: c.headDim)
        case .key: return .ropePermutation(heads: c.kvHeadCount, headDim: c.headDim)
        default: return .identity
        }
    }

    /// Within each head, HF row `s·headDim/2 + i` (rotate-half) is GGUF row `2i + s`
    /// (adjacent pairs). `toAdjacent` goes HF → GGUF; false goes back.
    static func permuteRows(_ t: Tensor, heads: Int, headDim: Int, toAdjacent: Bool) throws -> Tensor {
        let rows = t.shape.first ?? 0
        guard rows == heads * headDim, headDim % 2 == 0 else {
            throw ModelError.invalidInput("RoPE row permutation: \(rows) rows is not \(heads) heads × \(headDim) (even)")
        }
        let width = t.count / max(rows, 1), half = headDim / 2
        var out = Tensor(zeros: t.shape)
        let src = t.data, dst = out.mutableData
        for h in 0..<heads {
            for i in 0..<half {
                for s in 0..<2 {
                    let adjacent = h * headDim + 2 * i + s, rotateHalf = h * headDim + s * half + i
                    let (from, to) = toAdjacent ? (rotateHalf, adjacent) : (adjacent, rotateHalf)
                    (dst + to * width).update(from: src + from * width, count: width)
                }
            }
        }
        return out
    }
}

enum HFTensorMap {
    /// The HF tensors of a model with `config`, their names under `prefix` (`model.` for the
    /// decoder-only families, `transformer.` or nothing for GPT-2).
    static func entries(for config: ModelConfig, prefix: String, lmHead: String = "lm_head.weight") -> [HFTensorEntry] {
        var list = config.architecture == .gpt2 ? gpt2Entries(config, prefix) : decoderEntries(config, prefix)
        if !config.tiedEmbeddings {
            list.append(HFTensorEntry(name: lmHead, shape: [config.vocabularySize, config.hiddenSize],
                                      store: { $0.output = .dense($1) }, read: { try required($0.output?.tensor, lmHead) }))
        }
        return list
    }

    private static func required(_ t: Tensor?, _ name: String) throws -> Tensor {
        guard let t else { throw ModelError.invalidInput("the model has no weight for HF tensor '\(name)'") }
        return t
    }

    private static func model(_ name: String, _ shape: [Int], _ path: WritableKeyPath<ModelWeights, Tensor>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0[keyPath: path] = try transform.load($1) },
                      read: { try transform.export($0[keyPath: path]) })
    }

    private static func model(_ name: String, _ shape: [Int], _ path: WritableKeyPath<ModelWeights, Tensor?>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0[keyPath: path] = try transform.load($1) },
                      read: { try transform.export(required($0[keyPath: path], name)) })
    }

    private static func model(_ name: String, _ shape: [Int], _ path: WritableKeyPath<ModelWeights, WeightMatrix>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0[keyPath: path] = .dense(try transform.load($1)) },
                      read: { try transform.export($0[keyPath: path].tensor) })
    }

    private static func layer(_ index: Int, _ name: String, _ shape: [Int], _ path: WritableKeyPath<LayerWeights, WeightMatrix>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0.layers[index][keyPath: path] = .dense(try transform.load($1)) },
                      read: { try transform.export($0.layers[index][keyPath: path].tensor) })
    }

    private static func layer(_ index: Int, _ name: String, _ shape: [Int], _ path: WritableKeyPath<LayerWeights, WeightMatrix?>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0.layers[index][keyPath: path] = .dense(try transform.load($1)) },
                      read: { try transform.export(required($0.layers[index][keyPath: path]?.tensor, name)) })
    }

    private static func layer(_ index: Int, _ name: String, _ shape: [Int], _ path: WritableKeyPath<LayerWeights, Tensor>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0.layers[index][keyPath: path] = try transform.load($1) },
                      read: { try transform.export($0.layers[index][keyPath: path]) })
    }

    private static func layer(_ index: Int, _ name: String, _ shape: [Int], _ path: WritableKeyPath<LayerWeights, Tensor?>,
                              _ transform: HFTransform = .identity) -> HFTensorEntry {
        HFTensorEntry(name: name, shape: shape, store: { $0.layers[index][keyPath: path] = try transform.load($1) },
                      read: { try transform.export(required($0.layers[index][keyPath: path], name)) })
    }

    /// A projection's weight from `LinearModule`'s table (llama q/k rows permuted for RoPE).
    private static func linear(_ index: Int, _ module: LinearModule, _ c: ModelConfig, layerPrefix: String) -> HFTensorEntry {
        let name = layerPrefix + module.hf(c.architecture)!.path + ".weight"
        let shape = module.shape(in: c), transform = HFTransform.outputRows(module, c)
        return HFTensorEntry(name: name, shape: [shape.output, shape.input], store: { weights, hf in
            module.setWeight(.dense(try transform.load(hf)), in: &weights.layers[index])
        }, read: { weights in
            try transform.export(required(module.weight(in: weights.layers[index])?.tensor, name))
        })
    }

    /// llama, qwen2, gemma3.
    private static func decoderEntries(_ c: ModelConfig, _ prefix: String) -> [HFTensorEntry] {
        let t = c.traits, d = c.hiddenSize
        let gemma = c.architecture == .gemma3
        let norm: HFTransform = gemma ? .gemmaNorm : .identity
        let qRope = HFTransform.outputRows(.query, c), kRope = HFTransform.outputRows(.key, c)
        var list = [model(prefix + "embed_tokens.weight", [c.vocabularySize, d], \.tokenEmbedding)]
        for i in 0..<c.layerCount {
            let p = "\(prefix)layers.\(i)."
            list += [
                layer(i, p + "input_layernorm.weight", [d], \.attentionNorm, norm),
            ] + LinearModule.modules(of: c.architecture).map { linear(i, $0, c, layerPrefix: p) }
            if t.qkvBias {
                list += [
                    layer(i, p + "self_attn.q_proj.bias", [c.queryWidth], \.queryBias, qRope),
                    layer(i, p + "self_attn.k_proj.bias", [c.kvWidth], \.keyBias, kRope),
                    layer(i, p + "self_attn.v_proj.bias", [c.kvWidth], \.valueBias),
                ]
            }
            if t.qkNorm {
                list += [
                    layer(i, p + "self_attn.q_norm.weight", [c.headDim], \.queryNorm, norm),
                    layer(i, p + "self_attn.k_norm.weight", [c.headDim], \.keyNorm, norm),
                ]
            }
            if t.postNorms {
                // Gemma: post_attention_layernorm is the norm *after* attention; the FFN's
                // input norm is pre_feedforward_layernorm.
                list += [
                    layer(i, p + "post_attention_layernorm.weight", [d], \.postAttentionNorm, norm),
                    layer(i, p + "pre_feedforward_layernorm.weight", [d], \.feedForwardNorm, norm),
                    layer(i, p + "post_feedforward_layernorm.weight", [d], \.postFeedForwardNorm, norm),
                ]
            } else {
                list.append(layer(i, p + "post_attention_layernorm.weight", [d], \.feedForwardNorm, norm))
            }
        }
        list.append(model(prefix + "norm.weight", [d], \.finalNorm, norm))
        return list
    }

    private static func gpt2Entries(_ c: ModelConfig, _ prefix: String) -> [HFTensorEntry] {
        let d = c.hiddenSize, ffn = c.intermediateSize
        let qkvRows = c.queryWidth + 2 * c.kvWidth
        var list = [
            model(prefix + "wte.weight", [c.vocabularySize, d], \.tokenEmbedding),
            model(prefix + "wpe.weight", [c.contextLength, d], \.positionEmbedding),
        ]
        for i in 0..<c.layerCount {
            let p = "\(prefix)h.\(i)."
            list += [
                layer(i, p + "ln_1.weight", [d], \.attentionNorm),
                layer(i, p + "ln_1.bias", [d], \.attentionNormBias),
                fusedQKV(i, p + "attn.c_attn.weight", [d, qkvRows], c, bias: false),
                fusedQKV(i, p + "attn.c_attn.bias", [qkvRows], c, bias: true),
                layer(i, p + "attn.c_proj.weight", [c.queryWidth, d], \.attentionOutput, .transpose),
                layer(i, p + "attn.c_proj.bias", [d], \.attentionOutputBias),
                layer(i, p + "ln_2.weight", [d], \.feedForwardNorm),
                layer(i, p + "ln_2.bias", [d], \.feedForwardNormBias),
                layer(i, p + "mlp.c_fc.weight", [d, ffn], \.up, .transpose),
                layer(i, p + "mlp.c_fc.bias", [ffn], \.upBias),
                layer(i, p + "mlp.c_proj.weight", [ffn, d], \.down, .transpose),
                layer(i, p + "mlp.c_proj.bias", [d], \.downBias),
            ]
        }
        list += [model(prefix + "ln_f.weight", [d], \.finalNorm), model(prefix + "ln_f.bias", [d], \.finalNormBias)]
        return list
    }

    /// GPT-2's `c_attn`: weight `[d, q+k+v]` (Conv1D) or bias `[q+k+v]`, split into q, k, v.
    private static func fusedQKV(_ i: Int, _ name: String, _ shape: [Int], _ c: ModelConfig, bias: Bool) -> HFTensorEntry {
        let widths = [c.queryWidth, c.kvWidth, c.kvWidth]
        let paths: [WritableKeyPath<LayerWeights, Tensor?>] = [\.queryBias, \.keyBias, \.valueBias]
        let weightPaths: [WritableKeyPath<LayerWeights, WeightMatrix>] = [\.query, \.key, \.value]
        return HFTensorEntry(name: name, shape: shape, store: { weights, hf in
            // Rows of the transposed weight (or elements of the bias) are q, then k, then v.
            let rows = bias ? hf : try hf.transposed()
            var start = 0
            for part in 0..<3 {
                let piece = try rows.sliced(axis: 0, start..<start + widths[part])
                if bias { weights.layers[i][keyPath: paths[part]] = piece } else { weights.layers[i][keyPath: weightPaths[part]] = .dense(piece) }
                start += widths[part]
            }
        }, read: { weights in
            let l = weights.layers[i]
            let parts = try bias ? paths.map { try required(l[keyPath: $0], name) } : weightPaths.map { l[keyPath: $0].tensor }
            let fused = try concatenateRows(parts)
            return bias ? fused : try fused.transposed()
        })
    }

    private static func concatenateRows(_ parts: [Tensor]) throws -> Tensor {
        let width = parts[0].rank == 1 ? 1 : parts[0].shape[1]
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        var out = Tensor(zeros: parts[0].rank == 1 ? [rows] : [rows, width])
        var offset = 0
        for p in parts {
            guard p.count == p.shape[0] * width else { throw ModelError.invalidInput("c_attn parts have different widths") }
            (out.mutableData + offset).update(from: p.data, count: p.count)
            offset += p.count
        }
        return out
    }
}
