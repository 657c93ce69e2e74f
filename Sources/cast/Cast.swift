import ArgumentParser
import CastTensor

@main
struct Cast: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cast",
        abstract: "Move LoRA adapters between language models (Cartridge Activation Space Transfer).",
        subcommands: [Bench.self, Models.self, Fetch.self, Tokenize.self, Logits.self,
                      Generate.self, Quickstart.self, ExportHF.self, Adapter.self, Tasks.self, Evaluate.self, TrainLoRA.self,
                      Transfer.self, Export.self, CrossLoRACommand.self, Experiment.self, Run.self, Repl.self, KernelCommand.self,
                      Points.self, Activations.self, PCA.self, CKA.self])
}
