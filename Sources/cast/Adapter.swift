import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// `cast adapter …`: make, inspect and convert LoRA adapters.
struct Adapter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make, inspect and convert LoRA adapters (PEFT folders and GGUF-LoRA files).",
        subcommands: [AdapterInit.self, AdapterInfo.self, AdapterConvert.self])
}

/// `cast adapter init`: a fresh LoRA as PEFT initialises one (B zero), or with random B.
struct AdapterInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a freshly initialised LoRA (A uniform ±1/√in, B zero unless --b-std) as a PEFT folder.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var lora: LoRAFlags
    @Option(help: "Seed of the initial values.") var seed: UInt64 = 0
    @Option(help: "Draw B from N(0, std²) instead of zeros, so the adapter changes the model (PEFT's init_lora_weights=False; for tests and experiments).")
    var bStd: Float = 0
    @Option(help: "The PEFT folder to write.") var out: String
    @Option(help: "Also write the adapter as a GGUF-LoRA file (for llama.cpp).") var gguf: String?

    func run() throws {
        let transformer = try model.load().model
        let adapter = try LoRAAdapter(for: transformer.config, config: lora.config(baseModel: transformer.name),
                                      seed: seed, bStd: bStd)
        try PEFTAdapterFolder.save(adapter, for: transformer.config, to: URL(fileURLWithPath: out))
        print("wrote \(out) (\(adapter.modules.count) modules, \(adapter.parameterCount) parameters)")
        if let gguf {
            try GGUFLoRAFile.save(adapter, for: transformer.config, to: URL(fileURLWithPath: gguf))
            print("wrote \(gguf)")
        }
    }
}

/// `cast adapter info`: what an adapter holds.
struct AdapterInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a LoRA adapter for a model.")

    @OptionGroup var model: ModelOptions
    @Argument(help: "PEFT folder or GGUF-LoRA file.") var path: String

    func run() throws {
        let transformer = try model.load().model
        let adapter = try LoRAAdapter.load(path, for: transformer.config)
        let c = adapter.config
        print("adapter     \(path)")
        print("rank        \(c.rank)\(c.rankPattern.isEmpty ? "" : " (patterns: \(c.rankPattern))")")
        print("alpha       \(c.alpha)\(c.alphaPattern.isEmpty ? "" : " (patterns: \(c.alphaPattern))")\(c.useRSLoRA ? ", rsLoRA" : "")")
        print("modules     \(adapter.modules.count) (\(c.targetPattern ?? c.targetModules.joined(separator: ", ")))")
        print("parameters  \(adapter.parameterCount)")
        let rows = adapter.modules.map { m in
            [m.path, "\(m.factors.rank)", String(format: "%.4g", m.factors.scale), "\(m.factors.inputWidth) → \(m.factors.outputWidth)"]
        }
        print(TextTable(header: ["MODULE", "RANK", "SCALE", "SHAPE"], rows: rows, rightAligned: [1, 2]).render())
    }
}

/// `cast adapter convert`: PEFT folder ↔ GGUF-LoRA.
struct AdapterConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Convert an adapter between a PEFT folder and a GGUF-LoRA file.")

    @OptionGroup var model: ModelOptions
    @Argument(help: "PEFT folder or GGUF-LoRA file.") var path: String
    @Option(help: "Write a PEFT folder.") var peft: String?
    @Option(help: "Write a GGUF-LoRA file.") var gguf: String?

    func validate() throws {
        if peft == nil && gguf == nil { throw ValidationError("give --peft DIR and/or --gguf FILE") }
    }

    func run() throws {
        let transformer = try model.load().model
        let adapter = try LoRAAdapter.load(path, for: transformer.config)
        if let peft { try PEFTAdapterFolder.save(adapter, for: transformer.config, to: URL(fileURLWithPath: peft)); print("wrote \(peft)") }
        if let gguf { try GGUFLoRAFile.save(adapter, for: transformer.config, to: URL(fileURLWithPath: gguf)); print("wrote \(gguf)") }
    }
}

/// `--rank --alpha --modules --layers --rslora`, shared by the commands that make a LoRA.
struct LoRAFlags: ParsableArguments {
    @Option(help: "LoRA rank r.") var rank = 8
    @Option(help: "LoRA alpha (scale alpha/r, or alpha/√r with --rslora). Default: 2 × rank.") var alpha: Double?
    @Option(help: "Comma-separated PEFT module names (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; GPT-2: c_attn,c_proj,c_fc).")
    var modules = "q_proj,v_proj"
    @Option(help: "Comma-separated layer indices (default: every layer).") var layers: String?
    @Flag(help: "rsLoRA scaling alpha/√r.") var rslora = false

    func config(baseModel: String?) throws -> LoRAConfig {
        let names = modules.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let layerList = try layers.map { text in
            try text.split(separator: ",").map { part -> Int in
                guard let i = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--layers: '\(part)' is not a layer index")
                }
                return i
            }
        }
        return LoRAConfig(rank: rank, alpha: alpha ?? Double(2 * rank), targetModules: names, layers: layerList,
                          useRSLoRA: rslora, baseModel: baseModel)
    }
}
