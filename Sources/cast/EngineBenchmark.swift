import CBLAS
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
        for tokens in [128, 512] {
            for shape in layerShapes {
                report.rows.append(try matmulRow(tokens: tokens, shape))
            }
        }
        return report
    }

    /// y[T, out] = x[T, in]·Wᵀ through the engine vs the same call made directly.
    static func matmulRow(tokens: Int, _ shape: (model: String, layer: String, out: Int, in: Int)) throws -> BenchRow {
        let x = Tensor.randomNormal([tokens, shape.in], seed: 1)
        let w = Tensor.randomNormal([shape.out, shape.in], seed: 2)
        var y = Tensor(zeros: [tokens, shape.out])
        var raw = Tensor(zeros: [tokens, shape.out])
        let flops = 2.0 * Double(tokens * shape.in * shape.out)
        let rawPointer = raw.mutableData
        let seconds = try fastestRuns(ours: {
            try Tensor.matmul(x, w, transposeB: true, accumulate: false, into: &y)
        }, peer: {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tokens), Int32(shape.out),
                        Int32(shape.in), 1, x.data, Int32(shape.in), w.data, Int32(shape.in),
                        0, rawPointer, Int32(shape.out))
        })
        return BenchRow(name: "matmul \(shape.model) \(shape.layer) \(shape.out)x\(shape.in) T=\(tokens)",
                        value: flops / seconds.ours / 1e9, unit: "GFLOP/s, higher is better",
                        peer: "raw cblas_sgemm", peerValue: flops / seconds.peer / 1e9)
    }
}
