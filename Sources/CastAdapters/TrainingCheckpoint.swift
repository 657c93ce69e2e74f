import CastModels
import CastTensor
import Foundation

/// What a training run trains and on what: a checkpoint records it, and resuming refuses
/// a run that differs, by name ("trained on task arith, not dates").
public struct TrainingRecord: Codable, Equatable, Sendable {
    /// "lora" or "cast".
    public var kind: String
    /// The model (a CAST run: "source → target").
    public var model: String
    /// What it reads: "task arith", "corpus wiki".
    public var data: String
    /// Everything else the run depends on, as canonical JSON (LoRA config, CAST options).
    public var settings: String

    public init(kind: String, model: String, data: String, settings: String = "") {
        self.kind = kind
        self.model = model
        self.data = data
        self.settings = settings
    }

    /// `value` as JSON with sorted keys (a stable `settings` string).
    public static func canonicalJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A training run's whole state in one safetensors file, written atomically: every
/// trainable tensor by name, both AdamW moments (`adamw.m.NAME`, `adamw.v.NAME`), and as
/// JSON in the header's metadata the completed step, the training options and the
/// `TrainingRecord`. Resuming from it continues the run exactly.
public enum TrainingCheckpoint {
    struct State: Codable {
        var format = "cast-training-checkpoint-1"
        var step: Int
        var optimizerSteps: Int
        var options: TrainingOptions
        var record: TrainingRecord
        var parameters: [String]
    }

    public static func save(_ trainer: Trainer, record: TrainingRecord, to url: URL) throws {
        var writer = SafetensorsWriter()
        let (count, first, second) = trainer.optimizer.state
        let names = trainer.tensors.parameterNames
        let (values, gradients) = trainer.tensors.takeParameters()
        defer { trainer.tensors.returnParameters(values: values, gradients: gradients) }
        for (k, name) in names.enumerated() {
            try writer.add(name, values[k])
            if count > 0 {
                try writer.add("adamw.m." + name, first[k])
                try writer.add("adamw.v." + name, second[k])
            }
        }
        let state = State(step: trainer.completedSteps, optimizerSteps: count, options: trainer.options,
                          record: record, parameters: names)
        writer.metadata["cast"] = try TrainingRecord.canonicalJSON(state)
        try writer.write(to: url)
    }

    /// Loads `url` into `trainer`, whose run must be the checkpoint's: the same `record`,
    /// the same parameters, the same options except `steps` (which may grow).
    public static func restore(_ trainer: Trainer, record: TrainingRecord, from url: URL) throws {
        let file = try SafetensorsFile(url: url)
        guard let json = file.metadata["cast"],
              let state = try? JSONDecoder().decode(State.self, from: Data(json.utf8)) else {
            throw AdapterError("\(url.path): not a cast training checkpoint (no 'cast' metadata)")
        }
        let saved = state.record, here = "\(url.path): checkpoint"
        guard saved.kind == record.kind else { throw AdapterError("\(here) trains a \(saved.kind) adapter, not a \(record.kind) adapter") }
        guard saved.model == record.model else { throw AdapterError("\(here) was trained on \(saved.model), not \(record.model)") }
        guard saved.data == record.data else { throw AdapterError("\(here) was trained on \(saved.data), not \(record.data)") }
        guard saved.settings == record.settings else {
            throw AdapterError("\(here) was made with other settings: \(saved.settings), not \(record.settings)")
        }
        let names = trainer.tensors.parameterNames
        guard state.parameters == names else {
            let first = zip(state.parameters, names).first { $0 != $1 }.map { "\($0.0) vs \($0.1)" }
                ?? "\(state.parameters.count) vs \(names.count) tensors"
            throw AdapterError("\(here) holds other parameters than this run (\(first))")
        }
        var expected = trainer.options, made = state.options
        expected.steps = 0; made.steps = 0
        guard expected == made else {
            throw AdapterError("\(here) was made with other training options (\(try differences(made, expected))); "
                               + "resuming would not continue that run")
        }
        var (values, gradients) = trainer.tensors.takeParameters()
        defer { trainer.tensors.returnParameters(values: values, gradients: gradients) }
        var restored: [Tensor] = [], first: [Tensor] = [], second: [Tensor] = []
        for (k, name) in names.enumerated() {
            let t = try file.tensor(name)
            guard t.shape == values[k].shape else {
                throw AdapterError("\(url.path): \(name) is \(t.shape); this run's is \(values[k].shape)")
            }
            guard !t.scalars.contains(where: { !$0.isFinite }) else { throw AdapterError("\(url.path): \(name) holds NaN or infinite values") }
            restored.append(t)
            if state.optimizerSteps > 0 {
                first.append(try file.tensor("adamw.m." + name))
                second.append(try file.tensor("adamw.v." + name))
            }
        }
        try trainer.optimizer.restore(stepCount: state.optimizerSteps, firstMoments: first, secondMoments: second)
        values = restored
        trainer.resume(atStep: state.step)
    }

    /// "learningRate 0.001, not 0.002; …": the fields where two options differ.
    static func differences(_ saved: TrainingOptions, _ here: TrainingOptions) throws -> String {
        func fields(_ o: TrainingOptions) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(try TrainingRecord.canonicalJSON(o).utf8)) as? [String: Any] ?? [:]
        }
        let a = try fields(saved), b = try fields(here)
        return a.keys.sorted().compactMap { key in
            let x = "\(a[key]!)", y = b[key].map { "\($0)" } ?? "none"
            return x == y ? nil : "\(key) \(x), not \(y)"
        }.joined(separator: "; ")
    }
}
