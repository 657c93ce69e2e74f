import CastModels
import CastTensor
import Foundation

/// A LoRA for one model: its config and, per adapted PEFT module, the factors and the cast
/// slots they apply to (one slot each, three for GPT-2's fused `c_attn`).
public final class LoRAAdapter {
    /// One adapted module, named by its HF/PEFT module path.
    public struct Module {
        public let path: String
        public let factors: LoRAFactors
        /// The cast slots it applies to, each with its rows of B.
        public let slots: [(slot: AdapterSlot, rows: Range<Int>)]
    }

    public let config: LoRAConfig
    public let architecture: Architecture
    /// Modules in layer, then projection order.
    public let modules: [Module]
    /// The adapters to pass to a forward call (`ForwardOptions.adapters`).
    public let adapters: AdapterSet

    /// Wraps factors read from a file or built by `init(for:config:…)`: `factors[path]` for
    /// every module the config targets in `model`; checks their shapes and ranks.
    public init(config: LoRAConfig, model: ModelConfig, factors: [String: LoRAFactors], source: String) throws {
        let targets = try Self.targets(config, model)
        var modules: [Module] = []
        var remaining = Set(factors.keys)
        for target in targets {
            guard let f = factors[target.path] else {
                throw AdapterError("\(source): no tensors for \(target.path), which the config targets")
            }
            remaining.remove(target.path)
            let (rank, scale) = config.rankAndScale(of: target.path)
            guard f.a.shape == [rank, target.input], f.b.shape == [target.output, rank] else {
                throw AdapterError("\(source): \(target.path): lora_A \(f.a.shape) and lora_B \(f.b.shape) do not fit; "
                                   + "expected [\(rank), \(target.input)] and [\(target.output), \(rank)] (rank \(rank))")
            }
            guard abs(f.scale - scale) <= 1e-6 * max(1, abs(scale)) else {
                throw AdapterError("\(source): \(target.path): scale \(f.scale) differs from the config's \(scale)")
            }
            modules.append(Module(path: target.path, factors: f, slots: target.slots))
        }
        if let extra = remaining.sorted().first {
            throw AdapterError("\(source): tensors for \(extra), which the config does not target in this \(model.architecture.rawValue) model")
        }
        self.config = config
        self.architecture = model.architecture
        self.modules = modules
        var bySlot: [AdapterSlot: any LinearAdapter] = [:]
        for m in modules { for (slot, rows) in m.slots { bySlot[slot] = LoRALayer(m.factors, rows: rows) } }
        adapters = AdapterSet(bySlot)
    }

    /// A fresh LoRA as PEFT initialises one: A uniform in ±1/√in (Kaiming-uniform with
    /// a = √5), B zero so the adapter starts as a no-op; `bStd > 0` draws B from N(0, bStd²)
    /// instead (PEFT's `init_lora_weights=False`, for tests and experiments). Seeded.
    public convenience init(for model: ModelConfig, config: LoRAConfig, seed: UInt64, bStd: Float = 0) throws {
        try config.validate(source: "LoRA config")
        var rng = SeededGenerator(seed: seed)
        var factors: [String: LoRAFactors] = [:]
        for target in try Self.targets(config, model) {
            let (rank, scale) = config.rankAndScale(of: target.path)
            let bound = 1 / Float(target.input).squareRoot()
            let a = Tensor.randomUniform([rank, target.input], low: -bound, high: bound, using: &rng)
            let b = bStd > 0 ? Tensor.randomNormal([target.output, rank], std: bStd, using: &rng)
                : Tensor(zeros: [target.output, rank])
            factors[target.path] = try LoRAFactors(a: a, b: b, scale: scale)
        }
        try self.init(config: config, model: model, factors: factors, source: "new LoRA")
    }

    /// A module the config targets: its path, widths and cast slots.
    struct Target {
        let path: String
        let layer: Int
        let input: Int
        let output: Int
        let slots: [(slot: AdapterSlot, rows: Range<Int>)]
    }

    /// Every module of `model` that `config` targets, in layer then projection order.
    static func targets(_ config: LoRAConfig, _ model: ModelConfig) throws -> [Target] {
        let arch = model.architecture
        var out: [Target] = []
        for layer in 0..<model.layerCount {
            var byPath: [String: Target] = [:], order: [String] = []
            for module in LinearModule.modules(of: arch) {
                guard let hf = module.hf(arch) else { continue }
                let path = hf.modulePath(layer: layer, arch)
                guard config.targets(path: path, layer: layer) else { continue }
                let shape = module.shape(in: model)
                let rows = hf.fusedPart.map { HFModuleName.fusedRows(part: $0, model) } ?? 0..<shape.output
                let slot = (AdapterSlot(layer: layer, module: module), rows)
                if let existing = byPath[path] {
                    byPath[path] = Target(path: path, layer: layer, input: shape.input,
                                          output: max(existing.output, rows.upperBound), slots: existing.slots + [slot])
                } else {
                    byPath[path] = Target(path: path, layer: layer, input: shape.input, output: rows.upperBound, slots: [slot])
                    order.append(path)
                }
            }
            out += order.map { byPath[$0]! }
        }
        if let layers = config.layers, let bad = layers.first(where: { !(0..<model.layerCount).contains($0) }) {
            throw AdapterError("LoRA config: layers_to_transform has \(bad); the model has layers 0..<\(model.layerCount)")
        }
        guard !out.isEmpty else {
            let names = LinearModule.modules(of: arch).compactMap { $0.hf(arch)?.peftName }
            throw AdapterError("LoRA config: target_modules \(config.targetPattern ?? config.targetModules.description) "
                               + "match no module of this \(arch.rawValue) model (its modules: \(Set(names).sorted().joined(separator: ", ")))")
        }
        return out
    }

    /// Every factor with a name (`<path>.lora_A` / `.lora_B`), for optimizers and checkpoints.
    public var parameters: [(name: String, factors: LoRAFactors)] { modules.map { ($0.path, $0.factors) } }

    public var parameterCount: Int { modules.reduce(0) { $0 + $1.factors.a.count + $1.factors.b.count } }

    public func setTrainable(_ trainable: Bool) { for m in modules { m.factors.setTrainable(trainable) } }

    /// Zeroes every gradient buffer (start of an optimizer step).
    public func zeroGradients() {
        for m in modules {
            m.factors.dA?.zero()
            m.factors.dB?.zero()
        }
    }

    /// `model` with the LoRA merged into its weights: `W += scale·B·A` per slot, so the
    /// result runs without adapters. A packed (8-bit) weight is dequantized first and the
    /// merged weight stays float32: re-quantizing would round most of the LoRA's small
    /// change away. Only the adapted projections grow to 4 bytes a weight.
    public func merged(into model: Transformer) throws -> Transformer {
        guard model.config.architecture == architecture else {
            throw AdapterError("cannot merge a \(architecture.rawValue) LoRA into \(model.name) (\(model.config.architecture.rawValue))")
        }
        try adapters.validate(for: model)
        var weights = model.weights
        for m in modules {
            let delta = try m.factors.delta()
            for (slot, rows) in m.slots {
                guard let weight = slot.module.weight(in: weights.layers[slot.layer]) else { continue }
                var merged = weight.tensor
                let width = merged.shape[1]
                let p = merged.mutableData, d = delta.data + rows.lowerBound * width
                for i in 0..<rows.count * width { p[i] += d[i] }
                slot.module.setWeight(.dense(merged), in: &weights.layers[slot.layer])
            }
        }
        return try model.replacingWeights(weights, name: model.name + "+lora")
    }
}

extension LoRAAdapter {
    /// Loads a PEFT adapter folder or a GGUF-LoRA file for `model`.
    public static func load(_ path: String, for model: ModelConfig) throws -> LoRAAdapter {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AdapterError("\(path): no such adapter folder or file")
        }
        let url = URL(fileURLWithPath: path)
        return isDirectory.boolValue ? try PEFTAdapterFolder.load(url, for: model) : try GGUFLoRAFile.load(url, for: model)
    }
}
