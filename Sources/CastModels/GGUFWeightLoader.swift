import CastTensor

/// Reads a model's weights from a GGUF file by the standard llama.cpp tensor names, checking
/// every shape against the config. Quantized matrices stay 8-bit (`PackedMatrix`, the same
/// values ggml dequantizes) unless `packQuantized` is false; everything else becomes float32.
struct GGUFWeightLoader {
    let file: GGUFFile
    let config: ModelConfig
    var packQuantized = true
    /// Where packed matrices come from and go to on disk (nil: pack every load).
    var cache: PackedWeightCache.Session? = nil

    func load() throws -> ModelWeights {
        let c = config, t = c.traits
        let d = c.hiddenSize
        var layers: [LayerWeights] = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            let qkv = try fusedQKV(p)
            let layer = LayerWeights(
                attentionNorm: try tensor(p + "attn_norm.weight", [d]),
                attentionNormBias: t.norm == .layer ? try tensor(p + "attn_norm.bias", [d]) : nil,
                query: try qkv.map { .dense($0.q) } ?? linear(i, .query),
                key: try qkv.map { .dense($0.k) } ?? linear(i, .key),
                value: try qkv.map { .dense($0.v) } ?? linear(i, .value),
                attentionOutput: try linear(i, .output),
                queryBias: t.qkvBias ? try qkv?.qBias ?? tensor(p + "attn_q.bias", [c.queryWidth]) : nil,
                keyBias: t.qkvBias ? try qkv?.kBias ?? tensor(p + "attn_k.bias", [c.kvWidth]) : nil,
                valueBias: t.qkvBias ? try qkv?.vBias ?? tensor(p + "attn_v.bias", [c.kvWidth]) : nil,
                attentionOutputBias: t.outputBias ? try tensor(p + "attn_output.bias", [d]) : nil,
                queryNorm: t.qkNorm ? try tensor(p + "attn_q_norm.weight", [c.headDim]) : nil,
                keyNorm: t.qkNorm ? try tensor(p + "attn_k_norm.weight", [c.headDim]) : nil,
                postAttentionNorm: t.postNorms ? try tensor(p + "post_attention_norm.weight", [d]) : nil,
                feedForwardNorm: try tensor(p + "ffn_norm.weight", [d]),
                feedForwardNormBias: t.norm == .layer ? try tensor(p + "ffn_norm.bias", [d]) : nil,
                gate: t.feedForward == .plainGELU ? nil : try linear(i, .gate),
                up: try linear(i, .up),
                down: try linear(i, .down),
                upBias: t.outputBias ? try tensor(p + "ffn_up.bias", [c.intermediateSize]) : nil,
                downBias: t.outputBias ? try tensor(p + "ffn_down.bias", [d]) : nil,
                postFeedForwardNorm: t.postNorms ? try tensor(p + "post_ffw_norm.weight", [d]) : nil)
            layers.append(layer)
        }
        return ModelWeights(
            tokenEmbedding: try matrix("token_embd.weight", [c.vocabularySize, d]),
            positionEmbedding: t.positions == .learned ? try tensor("position_embd.weight", [c.contextLength, d]) : nil,
            layers: layers,
            finalNorm: try tensor("output_norm.weight", [d]),
            finalNormBias: t.norm == .layer ? try tensor("output_norm.bias", [d]) : nil,
            output: c.tiedEmbeddings ? nil : try matrix("output.weight", [c.vocabularySize, d]))
    }

    /// Layer `layer`'s projection `module`, by its name and shape in `LinearModule`'s table.
    private func linear(_ layer: Int, _ module: LinearModule) throws -> WeightMatrix {
        let shape = module.shape(in: config)
        return try matrix("blk.\(layer).\(module.ggufName).weight", [shape.output, shape.input])
    }

    /// A linear weight or embedding table: packed when quantized (and packing is on).
    private func matrix(_ name: String, _ shape: [Int]) throws -> WeightMatrix {
        let info = try checkedInfo(name, shape)
        guard packQuantized else { return .dense(try tensor(name, shape)) }
        if let cached = try cache?.cached(info) { return .packed(cached) }
        if let packed = try file.packed(info) {
            defer { file.releasePages(of: info) }
            cache?.packed(info, packed)
            return .packed(packed)
        }
        return .dense(try tensor(name, shape))
    }

    private func checkedInfo(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
        guard file.contains(tensor: name) else { throw ModelError.missingTensor(file.path, name) }
        let info = try file.tensorInfo(name)
        guard info.shape == shape else {
            throw ModelError.tensorShape(file.path, name, expected: shape, actual: info.shape)
        }
        return info
    }

    private func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        let info = try checkedInfo(name, shape)
        file.prefetch(info)
        defer { file.releasePages(of: info) }  // peak memory: the fp32 copy, not both
        return try file.dequantize(info)
    }

    /// GPT-2 files store q, k and v as one `attn_qkv` matrix; split it into three.
    private func fusedQKV(_ p: String) throws -> (q: Tensor, k: Tensor, v: Tensor,
                                                 qBias: Tensor, kBias: Tensor, vBias: Tensor)? {
        guard file.contains(tensor: p + "attn_qkv.weight") else { return nil }
        let c = config, d = c.hiddenSize
        let rows = c.queryWidth + 2 * c.kvWidth
        let weight = try tensor(p + "attn_qkv.weight", [rows, d])
        let bias = try tensor(p + "attn_qkv.bias", [rows])
        let bounds = [0, c.queryWidth, c.queryWidth + c.kvWidth, rows]
        func rowsOf(_ t: Tensor, _ part: Int, width: Int) throws -> Tensor {
            let count = bounds[part + 1] - bounds[part]
            var out = Tensor(zeros: width == 1 ? [count] : [count, width])
            out.mutableData.update(from: t.data + bounds[part] * width, count: count * width)
            return out
        }
        return (try rowsOf(weight, 0, width: d), try rowsOf(weight, 1, width: d), try rowsOf(weight, 2, width: d),
                try rowsOf(bias, 0, width: 1), try rowsOf(bias, 1, width: 1), try rowsOf(bias, 2, width: 1))
    }
}
