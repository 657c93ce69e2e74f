import CastAdapters

/// Everything an experiment is run with: the models, the task, which methods and variants,
/// and the settings of every training (the cache keys are made from these).
public struct ExperimentSettings: Sendable {
    public static let knownMethods = ["floor", "source", "retrained", "cross-lora", "cast"]

    /// The model the LoRA is trained on, and the one it is carried to.
    public var source: String
    public var target: String
    /// A built-in task or a JSONL file.
    public var task: String
    public var methods = ["floor", "source", "cross-lora", "cast"]
    /// CAST variants, each a row `cast-<variant>` beside `cast`.
    public var variants: [String] = []
    public var selfTextDocuments = 256
    public var selfTextTokens = 96
    /// The LoRA trained on the source (and retrained on the target); its base model is set
    /// per model.
    public var lora = LoRAConfig(rank: 8, alpha: 16, targetModules: ["q_proj", "v_proj"])
    public var loraSteps = 200
    public var loraLr: Float = 2e-3
    public var retrainLr: Float = 1e-3
    /// CAST's options (the `cast` row; variants change one thing each).
    public var cast = CastOptions()
    /// Student layers recomputed in backward (`Int.max`: all).
    public var recomputedLayers = Int.max
    /// Score on the first `limit` test examples (nil: all) and the first `trainLimit` train
    /// examples (0: skip; the evidence for choosing settings).
    public var limit: Int? = nil
    public var trainLimit = 64
    /// Held-out corpus windows for the KL column (0: skip).
    public var heldOut = 16

    public var seed: UInt64 { cast.training.seed }

    public init(source: String, target: String, task: String) {
        self.source = source
        self.target = target
        self.task = task
    }

    /// Refuses unknown methods and variants, naming the known ones.
    public func validate() throws {
        if let unknown = methods.first(where: { !Self.knownMethods.contains($0) }) {
            throw ExperimentError("unknown method '\(unknown)' (known: \(Self.knownMethods.joined(separator: ", ")))")
        }
        if let unknown = variants.first(where: { !CastVariant.names.contains($0) }) {
            throw ExperimentError("unknown variant '\(unknown)' (known CAST variants: \(CastVariant.names.joined(separator: ", ")))")
        }
        if let limit, limit < 1 { throw ExperimentError("limit must be at least 1, got \(limit)") }
        if trainLimit < 0 { throw ExperimentError("train limit must be 0 or more, got \(trainLimit)") }
        if heldOut < 0 { throw ExperimentError("held-out windows must be 0 or more, got \(heldOut)") }
    }
}

extension LoRAConfig {
    /// This configuration for a LoRA on `model`.
    func withBaseModel(_ model: String) -> LoRAConfig {
        var c = self
        c.baseModel = model
        return c
    }
}
