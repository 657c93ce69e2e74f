import Foundation

/// How the P's and H start.
public enum CastInitialization: String, Codable, Sendable, CaseIterable {
    /// P_in Gaussian (variance 1/in_t), P_out zero, H Gaussian (variance 1/d_t).
    case standard
    /// Ridge least squares on paired activations of the two bare models over the same
    /// corpus text: P_in maps the target's projection inputs to the source's, P_out the
    /// source's projection outputs to the target's, H the target's final hidden states to
    /// the source's.
    case leastSquares = "least-squares"
}

/// Everything a CAST run depends on. Every field has a default; a JSON object that leaves
/// one out decodes to it (checkpoints and caches keep the options they were made with).
public struct CastOptions: Codable, Equatable, Sendable {
    /// Optimizer steps, batch (windows per micro-batch), schedule, clip and data seed.
    public var training: TrainingOptions
    /// Teacher tokens per corpus window.
    public var windowLength = 128
    public var alpha: Float = 1
    public var beta: Float = 1
    public var temperature: Float = 2
    public var objective: CastObjective = .paper
    public var initialization: CastInitialization = .standard
    public var layerMap: LayerMapping = .relativeDepth
    /// Seed of the P's and H (least squares reads its own corpus windows, by this seed too).
    public var initSeed: UInt64 = 0
    /// Corpus windows least squares reads.
    public var initWindows = 32

    public init() {
        training = TrainingOptions()
        training.steps = 100
        training.batchSize = 4
        training.learningRate = 1e-3
        training.warmupSteps = 5
        training.minLearningRate = 1e-4
    }

    public var loss: DistillationLoss {
        DistillationLoss(alpha: alpha, beta: beta, temperature: temperature, objective: objective)
    }

    /// The named variants `cast experiment` reports beside each other.
    public static let variants = ["paper", "least-squares", "delta", "excess"]

    /// These options with a named variant applied: `paper` (the paper's loss, standard
    /// init), `least-squares` (paper's loss, least-squares init), `delta`, `excess` (those
    /// objectives, least-squares init).
    public func variant(_ name: String) throws -> CastOptions {
        var o = self
        switch name {
        case "paper": o.objective = .paper; o.initialization = .standard
        case "least-squares", "ls": o.objective = .paper; o.initialization = .leastSquares
        case "delta": o.objective = .delta; o.initialization = .leastSquares
        case "excess": o.objective = .excess; o.initialization = .leastSquares
        default: throw AdapterError("unknown CAST variant '\(name)' (known: \(Self.variants.joined(separator: ", ")))")
        }
        return o
    }

    enum CodingKeys: String, CodingKey {
        case training, windowLength, alpha, beta, temperature, objective, initialization, layerMap, initSeed, initWindows
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CastOptions()
        training = try c.decodeIfPresent(TrainingOptions.self, forKey: .training) ?? d.training
        windowLength = try c.decodeIfPresent(Int.self, forKey: .windowLength) ?? d.windowLength
        alpha = try c.decodeIfPresent(Float.self, forKey: .alpha) ?? d.alpha
        beta = try c.decodeIfPresent(Float.self, forKey: .beta) ?? d.beta
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        objective = try c.decodeIfPresent(CastObjective.self, forKey: .objective) ?? d.objective
        initialization = try c.decodeIfPresent(CastInitialization.self, forKey: .initialization) ?? d.initialization
        layerMap = try c.decodeIfPresent(LayerMapping.self, forKey: .layerMap) ?? d.layerMap
        initSeed = try c.decodeIfPresent(UInt64.self, forKey: .initSeed) ?? d.initSeed
        initWindows = try c.decodeIfPresent(Int.self, forKey: .initWindows) ?? d.initWindows
    }

    public func validate() throws {
        try training.validate()
        try loss.validate()
        guard windowLength >= 2 else { throw AdapterError("CAST options: window length must be ≥ 2, got \(windowLength)") }
        guard initWindows >= 1 else { throw AdapterError("CAST options: init windows must be ≥ 1, got \(initWindows)") }
    }
}

/// What one CAST optimizer step did, as numbers for whoever shows them.
public struct CastStep: Codable, Sendable {
    public let step: Int
    public let loss: Double
    /// Mean KL at the temperature (without T²) and the hidden-state MSE.
    public let kl: Double
    public let mse: Double
    public let gradNorm: Double
    public let learningRate: Double
    /// Student tokens run, and aligned positions the loss read.
    public let tokens: Int
    public let positions: Int
    public let seconds: Double
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

extension CastStep {
    enum CodingKeys: String, CodingKey {
        case step, loss, kl, mse, gradNorm = "grad_norm", learningRate = "learning_rate", tokens, positions, seconds
        case tokensPerSecond = "tokens_per_s"
    }

    /// `{"step", "loss", "kl", "mse", "grad_norm", "tokens_per_s", "learning_rate", "tokens",
    /// "positions", "seconds"}`: what `cast transfer --json` prints per step.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(loss, forKey: .loss)
        try c.encode(kl, forKey: .kl)
        try c.encode(mse, forKey: .mse)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(positions, forKey: .positions)
        try c.encode(seconds, forKey: .seconds)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(step: try c.decode(Int.self, forKey: .step), loss: try c.decode(Double.self, forKey: .loss),
                  kl: try c.decode(Double.self, forKey: .kl), mse: try c.decode(Double.self, forKey: .mse),
                  gradNorm: try c.decode(Double.self, forKey: .gradNorm), learningRate: try c.decode(Double.self, forKey: .learningRate),
                  tokens: try c.decode(Int.self, forKey: .tokens), positions: try c.decode(Int.self, forKey: .positions),
                  seconds: try c.decode(Double.self, forKey: .seconds))
    }
}

extension CastStep {
    /// A CAST step's metrics from the shared trainer's.
    init(_ m: StepMetrics) {
        self.init(step: m.step, loss: m.loss, kl: m.parts["kl"] ?? 0, mse: m.parts["mse"] ?? 0, gradNorm: m.gradNorm,
                  learningRate: m.learningRate, tokens: m.tokens, positions: m.counted, seconds: m.seconds)
    }
}
