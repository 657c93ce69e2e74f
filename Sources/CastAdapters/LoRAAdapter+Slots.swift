import CastModels
import Foundation

extension LoRAAdapter {
    /// A LoRA with one module per slot (what CAST export and Cross-LoRA produce), with the
    /// PEFT config that describes it: the modules' names and layers when they form a full
    /// grid, else a pattern naming each module; rank and alpha per module where they differ
    /// from the first.
    public convenience init(bySlot: [(AdapterSlot, LoRAFactors)], model: ModelConfig, source: String) throws {
        let arch = model.architecture
        guard let first = bySlot.first?.1 else { throw AdapterError("\(source): no module") }
        var factors: [String: LoRAFactors] = [:]
        var paths: [String] = [], modules: Set<String> = [], layers: Set<Int> = []
        var rankPattern: [String: Int] = [:], alphaPattern: [String: Double] = [:]
        for (slot, f) in bySlot {
            guard let hf = slot.module.hf(arch) else { throw AdapterError("\(source): no PEFT module name for \(slot)") }
            guard hf.fusedPart == nil else {
                throw AdapterError("\(source): GPT-2's fused c_attn is not supported here (its q, k and v share one A)")
            }
            let path = hf.modulePath(layer: slot.layer, arch)
            guard factors[path] == nil else { throw AdapterError("\(source): two modules for \(path)") }
            factors[path] = f
            paths.append(path)
            modules.insert(hf.peftName)
            layers.insert(slot.layer)
            if f.rank != first.rank || f.scale != first.scale {
                rankPattern[Self.escaped(path)] = f.rank
                alphaPattern[Self.escaped(path)] = Double(f.scale) * Double(f.rank)
            }
        }
        var config = LoRAConfig(rank: first.rank, alpha: Double(first.scale) * Double(first.rank),
                                targetModules: modules.sorted(), layers: layers.count == model.layerCount ? nil : layers.sorted(),
                                rankPattern: rankPattern, alphaPattern: alphaPattern)
        if modules.count * layers.count != paths.count {
            config.targetPattern = paths.map(Self.escaped).joined(separator: "|")
            config.layers = nil
        }
        try self.init(config: config, model: model, factors: factors, source: source)
    }

    private static func escaped(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "\\.") }
}
