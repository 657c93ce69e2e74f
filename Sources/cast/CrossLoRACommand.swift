import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// `cast cross-lora --source S --adapter DIR --target T --out DIR`: the data-free baseline.
struct CrossLoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cross-lora",
        abstract: "Carry a LoRA to another model without data or training (Cross-LoRA: each module projected through truncated SVDs of both models' weights).",
        discussion: """
            Per adapted module, with rank-k SVDs W_s ≈ U_s Σ_s V_sᵀ and W_t ≈ U_t Σ_t V_tᵀ (k the smallest \
            width of the two projections): B_t = U_t·U_sᵀ·B_s, A_t = A_s·V_s·V_tᵀ, same rank and scale. \
            Writes a PEFT LoRA for the target (and a GGUF-LoRA file with --gguf).
            """)

    @Option(help: "The model the LoRA was trained on.") var source: String
    @Option(help: "The source LoRA: a PEFT folder or GGUF-LoRA file.") var adapter: String
    @Option(help: "The model to carry it to.") var target: String
    @Option(help: "PEFT output folder.") var out: String
    @Option(help: "Also write a GGUF-LoRA file.") var gguf: String?
    @Option(help: "Layer map: depth (relative depth), index, or target:source pairs like 0:0,1:2.") var layerMap = "depth"

    func run() throws {
        let sourceModel = try loadModel(source), targetModel = try loadModel(target)
        let lora = try LoRAAdapter.load(adapter, for: sourceModel.config)
        let started = Date()
        let carried = try CrossLoRA.transfer(lora, source: sourceModel, target: targetModel,
                                             layerMap: try LayerMapping(parsing: layerMap))
        try PEFTAdapterFolder.save(carried, for: targetModel.config, to: URL(fileURLWithPath: out))
        if let gguf { try GGUFLoRAFile.save(carried, for: targetModel.config, to: URL(fileURLWithPath: gguf)) }
        writeStandardError(String(format: "Cross-LoRA %@ → %@: %d modules, rank %d, %.1f s; wrote %@%@\n",
                                  sourceModel.name, targetModel.name, carried.modules.count, carried.config.rank,
                                  Date().timeIntervalSince(started), out, gguf.map { " and \($0)" } ?? ""))
    }
}
