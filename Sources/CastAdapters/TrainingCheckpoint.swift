import CastModels
import CastTensor
import Foundation

/// A training run's whole state in one safetensors file, written atomically: every LoRA
/// factor, both AdamW moments, and (as JSON in the header's metadata) the completed step,
/// the training options and the LoRA config. Resuming from it continues the run exactly.
public enum TrainingCheckpoint {
    struct State: Codable {
        var format = "cast-lora-checkpoint-1"
        var step: Int
        var optimizerSteps: Int
        var options: TrainingOptions
        var model: String
        var task: String
        var modules: [String]
    }

    public static func save(_ trainer: LoRATrainer, task: String, to url: URL) throws {
        var writer = SafetensorsWriter()
        let (count, first, second) = trainer.optimizer.state
        for (k, module) in trainer.lora.modules.enumerated() {
            try writer.add(module.path + ".lora_A", module.factors.a)
            try writer.add(module.path + ".lora_B", module.factors.b)
            if count > 0 {
                for (i, name) in ["lora_A", "lora_B"].enumerated() {
                    try writer.add("adamw.m." + module.path + "." + name, first[2 * k + i])
                    try writer.add("adamw.v." + module.path + "." + name, second[2 * k + i])
                }
            }
        }
        let state = State(step: trainer.completedSteps, optimizerSteps: count, options: trainer.options,
                          model: trainer.model.name, task: task, modules: trainer.lora.modules.map(\.path))
        writer.metadata["cast"] = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try writer.write(to: url)
    }

    /// Loads `url` into `trainer` (same LoRA modules; the options must match the ones the
    /// checkpoint was made with, except `steps`, which may grow to train longer).
    public static func restore(_ trainer: LoRATrainer, from url: URL) throws {
        let file = try SafetensorsFile(url: url)
        guard let json = file.metadata["cast"],
              let state = try? JSONDecoder().decode(State.self, from: Data(json.utf8)) else {
            throw AdapterError("\(url.path): not a cast LoRA checkpoint (no 'cast' metadata)")
        }
        guard state.modules == trainer.lora.modules.map(\.path) else {
            throw AdapterError("\(url.path): the checkpoint's LoRA modules differ from this adapter's")
        }
        var expected = trainer.options, saved = state.options
        expected.steps = 0; saved.steps = 0
        guard expected == saved else {
            throw AdapterError("\(url.path): made with other training options (\(state.options)); resuming would not continue that run")
        }
        var first: [Tensor] = [], second: [Tensor] = []
        for module in trainer.lora.modules {
            let a = try file.tensor(module.path + ".lora_A"), b = try file.tensor(module.path + ".lora_B")
            guard a.shape == module.factors.a.shape, b.shape == module.factors.b.shape else {
                throw AdapterError("\(url.path): \(module.path) has shapes \(a.shape), \(b.shape); the adapter's are "
                                   + "\(module.factors.a.shape), \(module.factors.b.shape)")
            }
            module.factors.a = a
            module.factors.b = b
            if state.optimizerSteps > 0 {
                for name in ["lora_A", "lora_B"] {
                    first.append(try file.tensor("adamw.m." + module.path + "." + name))
                    second.append(try file.tensor("adamw.v." + module.path + "." + name))
                }
            }
        }
        try trainer.optimizer.restore(stepCount: state.optimizerSteps, firstMoments: first, secondMoments: second)
        trainer.resume(atStep: state.step)
    }
}
