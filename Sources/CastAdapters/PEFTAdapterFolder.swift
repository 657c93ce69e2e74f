import CastModels
import CastTensor
import Foundation

/// A PEFT LoRA folder: `adapter_config.json` + `adapter_model.safetensors`, tensors named
/// `base_model.model.<module path>.lora_A.weight` `[r, in]` and `.lora_B.weight` `[out, r]`
/// in HF's row order (llama q/k rows rotate-half; cast keeps GGUF's adjacent pairs and
/// converts B on the way in and out).
public enum PEFTAdapterFolder {
    public static let weightsName = "adapter_model.safetensors"
    static let keyPrefix = "base_model.model."

    /// Whether `url` looks like a PEFT adapter folder.
    public static func isFolder(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent(PEFTConfigFile.fileName).path)
    }

    public static func load(_ folder: URL, for model: ModelConfig) throws -> LoRAAdapter {
        let configURL = folder.appendingPathComponent(PEFTConfigFile.fileName)
        let weightsURL = folder.appendingPathComponent(weightsName)
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw AdapterError("\(folder.path): no \(PEFTConfigFile.fileName) (not a PEFT adapter folder)")
        }
        let config = try PEFTConfigFile.parse(data, source: configURL.path, architecture: model.architecture)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            let bin = folder.appendingPathComponent("adapter_model.bin")
            throw AdapterError("\(weightsURL.path): missing"
                               + (FileManager.default.fileExists(atPath: bin.path)
                                  ? " (only adapter_model.bin, a pickle cast will not execute: re-save with safe_serialization=True)" : ""))
        }
        let file = try SafetensorsFile(url: weightsURL)
        let source = weightsURL.path
        // Group the tensors by module path and check every name.
        var aByPath: [String: Tensor] = [:], bByPath: [String: Tensor] = [:]
        for name in file.names {
            guard name.hasPrefix(keyPrefix) else {
                throw AdapterError("\(source): tensor '\(name)' does not start with '\(keyPrefix)' (not a PEFT LoRA tensor)")
            }
            let rest = name.dropFirst(keyPrefix.count)
            if rest.hasSuffix(".lora_A.weight") {
                aByPath[String(rest.dropLast(".lora_A.weight".count))] = try file.tensor(name)
            } else if rest.hasSuffix(".lora_B.weight") {
                bByPath[String(rest.dropLast(".lora_B.weight".count))] = try file.tensor(name)
            } else {
                throw AdapterError("\(source): tensor '\(name)' is not a lora_A/lora_B weight (DoRA magnitudes, biases, "
                                   + "embeddings and modules_to_save are not supported)")
            }
        }
        var factors: [String: LoRAFactors] = [:]
        let targets = try LoRAAdapter.targets(config, model)
        for target in targets {
            guard let a = aByPath[target.path] else {
                throw AdapterError("\(source): tensor '\(keyPrefix)\(target.path).lora_A.weight' is missing")
            }
            guard let b = bByPath[target.path] else {
                throw AdapterError("\(source): tensor '\(keyPrefix)\(target.path).lora_B.weight' is missing")
            }
            let (rank, scale) = config.rankAndScale(of: target.path)
            guard a.shape == [rank, target.input], b.shape == [target.output, rank] else {
                throw AdapterError("\(source): \(target.path): lora_A \(a.shape), lora_B \(b.shape); the model's projection "
                                   + "needs [\(rank), \(target.input)] and [\(target.output), \(rank)] (rank \(rank) from the config)")
            }
            for value in [a, b] where value.scalars.contains(where: { !$0.isFinite }) {
                throw AdapterError("\(source): \(target.path) holds NaN or infinite values")
            }
            factors[target.path] = try LoRAFactors(a: a, b: try rows(b, target, model, toHF: false), scale: scale,
                                                   trainable: false)
        }
        let known = Set(targets.map(\.path))
        if let extra = Set(aByPath.keys).union(bByPath.keys).subtracting(known).sorted().first {
            throw AdapterError("\(source): tensors for '\(extra)', which the config does not target in a "
                               + "\(model.layerCount)-layer \(model.architecture.rawValue) model")
        }
        return try LoRAAdapter(config: config, model: model, factors: factors, source: source)
    }

    /// Writes `adapter` as a PEFT folder (created if missing); each file atomically, the
    /// weights first, so a folder with a config always has its weights.
    public static func save(_ adapter: LoRAAdapter, for model: ModelConfig, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        let targets = Dictionary(uniqueKeysWithValues: try LoRAAdapter.targets(adapter.config, model).map { ($0.path, $0) })
        for module in adapter.modules {
            guard let target = targets[module.path] else { throw AdapterError("\(module.path): not a module of this model") }
            try writer.add(keyPrefix + module.path + ".lora_A.weight", module.factors.a)
            try writer.add(keyPrefix + module.path + ".lora_B.weight", try rows(module.factors.b, target, model, toHF: true))
        }
        try writer.write(to: folder.appendingPathComponent(weightsName))
        try PEFTConfigFile.encode(adapter.config, architecture: model.architecture)
            .write(to: folder.appendingPathComponent(PEFTConfigFile.fileName), options: .atomic)
    }

    /// B with its output rows in HF order (`toHF`) or back in cast's.
    private static func rows(_ b: Tensor, _ target: LoRAAdapter.Target, _ model: ModelConfig, toHF: Bool) throws -> Tensor {
        guard target.slots.count == 1, let module = target.slots.first?.slot.module else { return b }
        return toHF ? try HFLayout.outputRowsToHF(b, module: module, config: model)
            : try HFLayout.outputRowsFromHF(b, module: module, config: model)
    }
}
