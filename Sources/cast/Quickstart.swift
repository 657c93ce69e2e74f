import ArgumentParser
import CastModels
import CastTensor
import Foundation

/// `cast quickstart`: fetch the default model, load it, describe it, and answer a question.
struct Quickstart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch and load a model, print its shape, and answer a chat question (greedy).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @Option(help: "The question to ask.") var question = "What is the capital of France? Answer in one sentence."
    @Option(help: "Most new tokens in the answer.") var maxTokens = 48

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
    }

    func run() throws {
        say("cast quickstart: \(model.model)")
        let fetchStart = Date()
        let path = try model.ggufPath()
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        say(String(format: "  file        %@ (%@, ready in %.1f s)", path, formatBytes(size),
                     Date().timeIntervalSince(fetchStart)))
        let (transformer, loadSeconds) = try model.load()
        let c = transformer.config
        say("  model       \(transformer.name) (\(c.architecture.rawValue))")
        say("  layers      \(c.layerCount), d \(c.hiddenSize), ffn \(c.intermediateSize)")
        say("  heads       \(c.headCount) query, \(c.kvHeadCount) key/value, head dim \(c.headDim)"
              + (c.slidingWindow.map { ", sliding window \($0)" } ?? ""))
        say("  vocabulary  \(c.vocabularySize), context \(c.contextLength)")
        say("  parameters  \(Models.formatCount(transformer.weights.parameterCount))")
        say(String(format: "  load time   %.2f s (weights %@, %@ in memory; %@ arithmetic)", loadSeconds,
                     model.weights.rawValue, formatBytes(Int64(transformer.weights.byteCount)), model.arithmetic.rawValue))
        say("  kernel      \(PackedKernel.selected.summary)"
              + (model.weights == .float32 ? " (unused: float32 weights run on OpenBLAS)" : ""))

        let generator = model.generator(for: transformer, adapters: try adapterOption.adapters(for: transformer))
        let options = GenerationOptions(maxNewTokens: maxTokens, sampling: .greedy)
        say("\n> \(question)")
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let result = try generator.generate(texts: [question], chat: true, options: options,
                                            shouldStop: { Interrupt.requested }) {
            writeStandardOutput($0.text)
        }
        let reason = result.sequences.first?.finishReason.rawValue ?? "-"
        say("\n\n[greedy; \(speedSummary(result.timing)); stopped: \(reason)]")
    }
}

/// Quickstart's lines go through the same unbuffered stdout as the streamed answer, so
/// they cannot overtake each other when stdout is a pipe.
private func say(_ line: String) {
    writeStandardOutput(line + "\n")
}
