import CBLAS
import CastModels
import CastTensor
import Foundation

/// `cast bench engine`: the tensor engine against raw OpenBLAS sgemm, in one run.
enum EngineBenchmark {
    /// Linear-layer shapes (out, in) of SmolLM2-135M and Qwen2.5-0.5B.
    static let layerShapes: [(model: String, layer: String, out: Int, in: Int)] = [
        ("smollm2", "q/o", 576, 576), ("smollm2", "k/v", 192, 576),
        ("smollm2", "gate/up", 1536, 576), ("smollm2", "down", 576, 1536),
        ("qwen0.5b", "q/o", 896, 896), ("qwen0.5b", "k/v", 128, 896),
        ("qwen0.5b", "gate/up", 4864, 896), ("qwen0.5b", "down", 896, 4864),
    ]

    static func run() throws -> BenchReport {
        var report = BenchReport()
        // The packed rows name their kernel path; CAST_KERNELS=avx2 etc. measures another path.
        report.env["packed kernel"] = PackedKernel.selected.summary + " (CPU supports \(PackedKernel.supported.rawValue))"
        report.env["CAST_KERNELS"] = ProcessInfo.processInfo.environment["CAST_KERNELS"] ?? "(unset)"
        for tokens in [128, 512] {
            for shape in layerShapes {
                report.rows.append(try matmulRow(tokens: tokens, shape))
            }
        }
        for arithmetic in PackedArithmetic.allCases {
            for tokens in [128, 512] {
                for shape in layerShapes where shape.model == "qwen0.5b" {
                    report.rows.append(try packedMatmulRow(tokens: tokens, shape, arithmetic: arithmetic))
                }
            }
        }
        for shape in layerShapes where shape.model == "qwen0.5b" {
            report.rows.append(try packedBackwardRow(tokens: 1024, shape))
        }
        report.rows.append(try attentionRow())
        report.rows.append(try blockRow())
        return report
    }

    /// A raw `cblas_sgemm` of `C[m×n] = A[m×k]·B[n×k]ᵀ` on its own buffers (the peer of every
    /// row), and its FLOP count.
    static func rawSgemm(m: Int, n: Int, k: Int) -> (run: () -> Void, flops: Double) {
        let a = Tensor.randomNormal([m, k], seed: 3), b = Tensor.randomNormal([n, k], seed: 4)
        var c = Tensor(zeros: [m, n])
        let cp = c.mutableData
        let run = {
            BLAS.withOpenBLASThreading {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a.data, Int32(k),
                            b.data, Int32(k), 0, cp, Int32(n))
            }
            withExtendedLifetime(c) {}
        }
        return (run, 2.0 * Double(m * n * k))
    }

    /// A row of `flops` done by `ours`, beside the raw sgemm `peer`, timed alternately.
    static func row(_ name: String, flops: Double, ours: () throws -> Void,
                    peer: (run: () -> Void, flops: Double), peerName: String) throws -> BenchRow {
        let seconds = try fastestRuns(ours: ours, peer: peer.run)
        return BenchRow(name: name, value: flops / seconds.ours / 1e9, unit: "GFLOP/s, higher is better",
                        peer: peerName, peerValue: peer.flops / seconds.peer / 1e9)
    }

    /// Causal attention forward + backward, T = 512, 9 query heads × 64, 3 kv heads
    /// (SmolLM2's attention). FLOPs count only the visible (causal) half of the scores.
    static func attentionRow() throws -> BenchRow {
        let t = 512, heads = 9, kvHeads = 3, hd = 64
        let config = Attention.Config(heads: heads, kvHeads: kvHeads, headDim: hd)
        let q = Tensor.randomNormal([1, t, heads * hd], seed: 1)
        let k = Tensor.randomNormal([1, t, kvHeads * hd], seed: 2)
        let v = Tensor.randomNormal([1, t, kvHeads * hd], seed: 3)
        let dOut = Tensor.randomNormal([1, t, heads * hd], seed: 4)
        var out = Tensor(), probabilities: Tensor? = Tensor()
        var dq: Tensor? = Tensor(zeros: q.shape), dk: Tensor? = Tensor(zeros: k.shape), dv: Tensor? = Tensor(zeros: v.shape)
        // Forward: QKᵀ and P·V; backward: dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q.
        let visible = Double(t * (t + 1) / 2)
        let flops = visible * Double(heads * hd) * 2 * (2 + 4)
        return try row("attention fwd+bwd T=512 9x64 heads, 3 kv", flops: flops, ours: {
            try Attention.forward(q: q, k: k, v: v, config: config, into: &out, probabilities: &probabilities)
            try Attention.backward(dOut: dOut, q: q, k: k, v: v, probabilities: probabilities!, config: config,
                                   dq: &dq, dk: &dk, dv: &dv)
        }, peer: rawSgemm(m: t, n: 1536, k: 576), peerName: "raw sgemm 512x1536x576")
    }

    /// A whole SmolLM2-sized transformer block (d 576, ffn 1536, 9/3 heads), forward and
    /// backward with every weight trainable, T = 512. FLOPs: 3× the forward GEMMs plus the
    /// causal attention; the gap to raw sgemm is the non-GEMM work (norms, RoPE, softmax).
    static func blockRow() throws -> BenchRow {
        let t = 512
        var config = ModelConfig(architecture: .llama, vocabularySize: 64, hiddenSize: 576,
                                 intermediateSize: 1536, layerCount: 1, headCount: 9, kvHeadCount: 3,
                                 headDim: 64, normEpsilon: 1e-5, contextLength: t)
        config.ropeBase = 100_000
        let model = try Transformer(name: "block", config: config, weights: .random(config, seed: 5))
        let tokens = (0..<t).map { Int32($0 % 64) }
        var pass = ForwardPass()
        var gradients = ModelGradients(for: model.weights, trainable: { $0.hasPrefix("blk.") })
        var noEmbeddingGradient: Tensor? = nil
        let dHidden = Tensor.randomNormal([t, 576], seed: 6)
        let d = 576.0, kv = 192.0, ffn = 1536.0, tokenCount = Double(t)
        let gemm = 2 * tokenCount * (d * d * 2 + d * kv * 2 + d * ffn * 3)
        let attention = Double(t * (t + 1) / 2) * d * 2 * 2
        return try row("block fwd+bwd smollm2 size T=512", flops: 3 * (gemm + attention), ours: {
            try model.forward([tokens], pass: &pass, training: true)
            try model.backward(&pass, dLogits: nil, dHidden: dHidden, gradients: &gradients,
                               dEmbeddings: &noEmbeddingGradient)
        }, peer: rawSgemm(m: t, n: 1536, k: 576), peerName: "raw sgemm 512x1536x576")
    }

    /// dx[T, in] += dy[T, out]·W with W packed (backward through a frozen layer, as LoRA and
    /// CAST training do) vs raw sgemm of the same product on float32 W.
    static func packedBackwardRow(tokens: Int, _ shape: (model: String, layer: String, out: Int, in: Int)) throws -> BenchRow {
        let w = try randomPacked(shape)
        let x = Tensor.randomNormal([tokens, shape.in], seed: 1), dy = Tensor.randomNormal([tokens, shape.out], seed: 2)
        var dx: Tensor? = Tensor(zeros: [tokens, shape.in]), noWeight: Tensor? = nil, noBias: Tensor? = nil
        let a = Tensor.randomNormal([tokens, shape.out], seed: 3), b = Tensor.randomNormal([shape.out, shape.in], seed: 4)
        var c = Tensor(zeros: [tokens, shape.in])
        let cp = c.mutableData
        let peer = {
            BLAS.withOpenBLASThreading {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tokens), Int32(shape.in), Int32(shape.out), 1,
                            a.data, Int32(shape.out), b.data, Int32(shape.in), 1, cp, Int32(shape.in))
            }
            withExtendedLifetime(c) {}
        }
        let flops = 2.0 * Double(tokens * shape.in * shape.out)
        return try row("packed backward dx [\(PackedMatrix.kernel.rawValue)] \(shape.model) \(shape.layer) \(shape.out)x\(shape.in) T=\(tokens)", flops: flops,
                       ours: { try Linear.backward(dy: dy, x: x, weight: .packed(w), dx: &dx, dWeight: &noWeight, dBias: &noBias) },
                       peer: (peer, flops), peerName: "raw cblas_sgemm")
    }

    /// A packed matrix of `shape` with random q in ±15, groups of 32.
    static func randomPacked(_ shape: (model: String, layer: String, out: Int, in: Int)) throws -> PackedMatrix {
        var rng = SeededGenerator(seed: 7)
        let w = try PackedMatrix(rows: shape.out, columns: shape.in, group: 32)
        var q = [Int8](repeating: 0, count: 32)
        for n in 0..<shape.out {
            for g in 0..<(shape.in / 32) {
                for k in 0..<32 { q[k] = Int8.random(in: -15...15, using: &rng) }
                w.setGroup(row: n, group: g, values: q, scale: Float.random(in: 0.001...0.01, using: &rng),
                           offset: Float.random(in: -0.01...0.01, using: &rng))
            }
        }
        return w
    }

    /// y[T, out] = x[T, in]·Wᵀ with W packed 8-bit (random q, groups of 32) vs raw sgemm on a
    /// float32 matrix of the same shape; FLOPs counted as for float32.
    static func packedMatmulRow(tokens: Int, _ shape: (model: String, layer: String, out: Int, in: Int),
                                arithmetic: PackedArithmetic) throws -> BenchRow {
        let w = try randomPacked(shape)
        let x = Tensor.randomNormal([tokens, shape.in], seed: 1)
        var y = Tensor(zeros: [tokens, shape.out])
        let peer = rawSgemm(m: tokens, n: shape.out, k: shape.in)
        let path = arithmetic == .int8 ? PackedMatrix.int8Kernel : PackedMatrix.kernel
        return try row("packed \(arithmetic.rawValue) [\(path.rawValue)] \(shape.model) \(shape.layer) \(shape.out)x\(shape.in) T=\(tokens)",
                       flops: peer.flops,
                       ours: { try Linear.forward(x, weight: .packed(w), arithmetic: arithmetic, into: &y) },
                       peer: peer, peerName: "raw cblas_sgemm")
    }

    /// y[T, out] = x[T, in]·Wᵀ through the engine vs the same product made directly.
    static func matmulRow(tokens: Int, _ shape: (model: String, layer: String, out: Int, in: Int)) throws -> BenchRow {
        let x = Tensor.randomNormal([tokens, shape.in], seed: 1)
        let w = Tensor.randomNormal([shape.out, shape.in], seed: 2)
        var y = Tensor(zeros: [tokens, shape.out])
        let peer = rawSgemm(m: tokens, n: shape.out, k: shape.in)
        return try row("matmul \(shape.model) \(shape.layer) \(shape.out)x\(shape.in) T=\(tokens)", flops: peer.flops,
                       ours: { try Tensor.matmul(x, w, transposeB: true, accumulate: false, into: &y) },
                       peer: peer, peerName: "raw cblas_sgemm")
    }
}
