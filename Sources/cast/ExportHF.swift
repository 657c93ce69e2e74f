import ArgumentParser
import CastModels
import Foundation

/// `cast export-hf -m MODEL --out DIR`: the model as an HF folder (what transformers and
/// PEFT load), float32 weights dequantized from the GGUF file.
struct ExportHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-hf",
        abstract: "Write a model as an HF folder (config.json, model.safetensors, tokenizer.json where it has one).")

    @OptionGroup var model: ModelOptions
    @Option(help: "The folder to write (created if missing; files in it are replaced atomically).") var out: String

    func run() throws {
        let transformer = try model.load().model
        let folder = URL(fileURLWithPath: out)
        try transformer.exportHuggingFace(to: folder)
        print("wrote \(folder.path) (\(transformer.config.architecture.rawValue), \(transformer.config.layerCount) layers)")
    }
}
