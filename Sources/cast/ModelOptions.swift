import ArgumentParser
import CastAdapters
import CastModels
import CastTensor
import Foundation

/// `--model NAME|PATH`, shared by the commands that run a model. Registry models are fetched
/// (with a progress line on stderr) when missing.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Registry name (see `cast models`) or path of a .gguf file.")
    var model = "smollm2-135m"

    @Option(help: "How to hold a GGUF file's quantized matrices: packed (8-bit, the file's exact values, fast on AVX2 and AVX-512) or float32 (dequantized, editable). Default: packed where an AVX2 or AVX-512 kernel runs.")
    var weights: QuantizedWeights = .preferred

    @Option(help: "Arithmetic of products with packed weights: float32 (exact) or int8 (activations rounded to 8 bits per group, as llama.cpp; ~2× faster prefill).")
    var arithmetic: PackedArithmetic = .float32

    func validate() throws {
        if arithmetic == .int8 && weights == .float32 {
            throw ValidationError("--arithmetic int8 needs packed weights: add --weights packed")
        }
        // Same results on every path, but the portable one brings none of int8's speed: say so.
        if arithmetic == .int8 && PackedMatrix.int8Kernel == .portable {
            writeStandardError("warning: --arithmetic int8 has no fast kernel here (\(Self.kernelReason)): it runs the slow portable one\n")
        }
    }

    /// Why the portable kernels run: the CPU or the environment.
    static var kernelReason: String {
        PackedKernel.supported == .portable ? "this CPU lacks AVX2 + FMA" : "forced by CAST_KERNELS or CAST_PORTABLE_KERNELS"
    }

    /// The GGUF file for `model`, fetched if it is a registry name not yet cached.
    func ggufPath() throws -> String {
        if FileManager.default.fileExists(atPath: model) { return model }
        if model.hasSuffix(".gguf") || model.contains("/") {
            throw ModelError.invalidInput("\(model): no such file")
        }
        let line = ProgressLine()
        do {
            let path = try ModelStore.path(for: model) { line.show($0) }
            line.finish(nil)
            return path.path
        } catch {
            line.finish(nil)
            throw error
        }
    }

    /// The whole model and how long loading took.
    func load() throws -> (model: Transformer, seconds: Double) {
        let path = try ggufPath()
        let start = Date()
        let name = FileManager.default.fileExists(atPath: model) ? nil : model
        let transformer = try Transformer.loadGGUF(path: path, name: name, quantized: weights)
        return (transformer, Date().timeIntervalSince(start))
    }

    /// A generator with the options' arithmetic and `adapters`.
    func generator(for transformer: Transformer, adapters: AdapterSet = .none) -> Generator {
        Generator(model: transformer, adapters: adapters, arithmetic: arithmetic)
    }

    /// Just the tokenizer (no weights are read).
    func loadTokenizer() throws -> Tokenizer {
        try Tokenizer(ggufPath: try ggufPath())
    }
}

/// `--adapter PATH`, for the commands that run a model with an adapter.
struct AdapterOption: ParsableArguments {
    @Option(help: "An adapter to apply: a LoRA (a PEFT folder with adapter_config.json + adapter_model.safetensors, or a GGUF-LoRA file) or a CAST adapter folder (what `cast transfer` writes).")
    var adapter: String?

    /// The adapters `--adapter` names for `transformer` (none without the option).
    func adapters(for transformer: Transformer) throws -> AdapterSet {
        guard let adapter else { return .none }
        if let cast = CastAdapterFolder.locate(adapter) {
            return try CastAdapterFolder.load(cast, target: transformer).adapters
        }
        return try LoRAAdapter.load(adapter, for: transformer.config).adapters
    }
}

/// Ctrl-C during generation: the first press asks the generator to stop after the current
/// step (keeping what it produced); a second press ends the process as usual.
enum Interrupt {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var requested: Bool { flag != 0 }

    static func install() {
        flag = 0
        // A parent that spawned us from a thread with signals blocked (libdispatch workers
        // block them; so do some notebook kernels) passes that mask on: unblock SIGINT.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            Interrupt.flag = 1
            signal(SIGINT, SIG_DFL)
        }
    }

    static func uninstall() { signal(SIGINT, SIG_DFL) }
}

/// Writes to stdout at once (streamed tokens must not wait for a newline).
func writeStandardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

func writeStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// "prefill 312.4 tok/s, decode 41.2 tok/s".
func speedSummary(_ timing: GenerationTiming) -> String {
    String(format: "%d prompt tokens, prefill %.1f tok/s; %d generated, decode %.1f tok/s",
           timing.promptTokens, timing.prefillTokensPerSecond, timing.generatedTokens, timing.decodeTokensPerSecond)
}

extension QuantizedWeights: ExpressibleByArgument {}
extension PackedArithmetic: ExpressibleByArgument {}
