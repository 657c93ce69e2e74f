import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// `cast train-lora -m MODEL --task TASK --out DIR`: trains a LoRA on a task's answers.
struct TrainLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-lora",
        abstract: "Train a LoRA on a task (loss on answer tokens, AdamW, warm-up + cosine) and save it as a PEFT folder.",
        discussion: """
            DIR gets adapter_config.json + adapter_model.safetensors and checkpoint.safetensors (adapter, \
            optimizer and step), rewritten atomically every --checkpoint-every steps and at the end. Ctrl-C \
            stops after the current step and saves it; --resume continues from DIR's checkpoint exactly as \
            if the run had not stopped (same flags; --steps may grow).
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var lora: LoRAFlags
    @Option(help: "A built-in task (arith, dates, reverse) or a JSONL file.") var task: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Optimizer steps.") var steps = 200
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Examples per micro-batch.") var batchSize = 8
    @Option(help: "Micro-batches accumulated per step.") var accumulation = 1
    @Option(help: "Linear warm-up steps.") var warmup = 10
    @Option(help: "Seed of the initial LoRA and the data order.") var seed: UInt64 = 0
    @Option(help: "Write the checkpoint every N steps (0: only at the end).") var checkpointEvery = 50
    @Flag(help: "Continue from DIR/checkpoint.safetensors.") var resume = false
    @Option(help: "Also write the adapter as a GGUF-LoRA file.") var gguf: String?
    @Flag(help: "Print each step's metrics as a JSON line on stdout (no progress bar).") var json = false

    func run() throws {
        let suite = try TaskSuite.load(task)
        let transformer = try model.load().model
        var options = TrainingOptions()
        options.steps = steps
        options.learningRate = lr
        options.minLearningRate = lr / 10
        options.batchSize = batchSize
        options.accumulation = accumulation
        options.warmupSteps = warmup
        options.seed = seed
        let adapter = try LoRAAdapter(for: transformer.config, config: lora.config(baseModel: transformer.name), seed: seed)
        let trainer = try LoRATrainer(model: transformer, lora: adapter, task: suite, options: options)
        let folder = URL(fileURLWithPath: out)
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        if resume {
            try trainer.restoreCheckpoint(from: checkpoint)
            writeStandardError("resuming at step \(trainer.completedSteps) of \(steps)\n")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func save() throws {
            try trainer.saveCheckpoint(to: checkpoint)
            try PEFTAdapterFolder.save(adapter, for: transformer.config, to: folder)
        }
        let (finished, summary) = try TrainingLoop.drive(
            label: "train", total: steps, first: trainer.completedSteps, json: json, saveEvery: checkpointEvery,
            save: save) { shouldStop, onStep in try trainer.run(shouldStop: shouldStop, onStep: onStep) }
        if let gguf { try GGUFLoRAFile.save(adapter, for: transformer.config, to: URL(fileURLWithPath: gguf)) }
        writeStandardError("\(finished ? "finished" : "stopped") at step \(trainer.completedSteps) of \(steps) (\(summary)); wrote \(out)\n")
    }
}
