import ArgumentParser
import CastModels
import Foundation

/// Sampling flags shared by `generate` and `quickstart`.
struct SamplingFlags: ParsableArguments {
    @Option(help: "Most new tokens to generate.") var maxTokens = 256
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Nucleus sampling: keep the most likely tokens up to this probability.") var topP: Float = 1
    @Option(help: "Keep only the K most likely tokens (0 = all).") var topK = 0
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 0
    @Option(help: "Stop when the text contains this string (repeatable).") var stop: [String] = []

    var options: GenerationOptions {
        GenerationOptions(maxNewTokens: maxTokens,
                          sampling: SamplingOptions(temperature: temperature, topP: topP, topK: topK, seed: seed),
                          stopStrings: stop)
    }

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        do { try options.sampling.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// `cast generate --model M --prompt TEXT`: streams a continuation to stdout.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt (or answer it as a chat turn), streaming the tokens to stdout.",
        discussion: "Ctrl-C stops generating and keeps what was produced; speeds go to stderr.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @Option(help: "The prompt.") var prompt: String
    @Flag(help: "Wrap the prompt in the model's chat template as a user turn.") var chat = false
    @Option(help: "System prompt (with --chat).") var system: String?
    @OptionGroup var sampling: SamplingFlags

    func run() throws {
        let transformer = try model.load().model
        let generator = model.generator(for: transformer, adapters: try adapterOption.adapters(for: transformer))
        if !chat { writeStandardOutput(prompt) }
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let result = try generator.generate(texts: [prompt], chat: chat, system: chat ? system : nil,
                                            options: sampling.options, shouldStop: { Interrupt.requested }) {
            writeStandardOutput($0.text)
        }
        writeStandardOutput("\n")
        let reason = result.sequences.first?.finishReason.rawValue ?? "-"
        writeStandardError("[\(speedSummary(result.timing)); stopped: \(reason)]\n")
    }
}
