import ArgumentParser
import CastTensor
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark cast against a peer measured in the same run.",
        discussion: """
            Benchmarks: engine (tensor engine vs raw OpenBLAS sgemm); models (whole-model \
            inference vs llama.cpp on the same GGUF files, 2 threads; needs the reference venv \
            from scripts/reference-venv.sh, found through CAST_REF_VENV or .venv-ref); lora (one \
            LoRA training step on qwen2.5-0.5b vs PyTorch + PEFT on CPU; needs the venv from \
            scripts/peft-venv.sh, found through CAST_PEFT_VENV or .venv-peft); cast (one CAST training \
            step smollm2-135m → qwen2.5-0.5b, 4 × 256 tokens, vs the same step in PyTorch on CPU; same venv); \
            language (a builtin call through the language vs the same engine call from Swift, and \
            `cast repl` start-up to its first prompt vs python3's); kernel (round-trip latency of \
            execute_request for a trivial cell and of complete_request through `cast kernel`, median and p99 \
            of 500, vs ipykernel driven by the same jupyter_client in the same run; needs .venv-jupyter from \
            scripts/jupyter-venv.sh, or CAST_JUPYTER_VENV); analysis (capture at every layer's residual stream + PCA \
            over 8,192 tokens of qwen2.5-0.5b vs the plain forward pass over the same tokens, seconds and peak RSS, \
            each side in its own process).
            """)

    @Argument(help: "Which benchmark: engine, models, lora, cast, language, kernel or analysis.") var name: String
    @Flag(help: "lora, cast: measure ours only (no PyTorch run).") var noPeer = false
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(name: .customLong("model"),
            help: "models: a model to run (repeatable; default smollm2-135m, gemma3-270m, qwen2.5-0.5b).")
    var models: [String] = []
    @Option(name: .customLong("probe-rss"), help: .hidden) var probePath: String?
    @Option(name: .customLong("probe-tokens"), help: .hidden) var probeTokens: String?

    func run() throws {
        if let probePath {
            // The child of `bench models` that measures peak memory around one fresh load.
            let tokens = (probeTokens ?? "").split(separator: ",").compactMap { Int($0) }
            let probe = try MemoryProbe.run(path: probePath, tokens: tokens)
            print(String(decoding: try JSONEncoder().encode(probe), as: UTF8.self))
            return
        }
        let report: BenchReport
        switch name {
        case "engine": report = try EngineBenchmark.run()
        case "models": report = try ModelBenchmark.run(models: models)
        case "lora": report = try LoRABenchmark.run(peer: !noPeer)
        case "cast": report = try CastBenchmark.run(peer: !noPeer)
        case "language": report = try LanguageBenchmark.run()
        case "kernel": report = try KernelBenchmark.run()
        case "analysis": report = try AnalysisBenchmark.run()
        default: throw ValidationError("unknown benchmark '\(name)'; known: engine, models, lora, cast, language, kernel, analysis")
        }
        print(json ? try report.json() : report.table())
    }
}
