import Foundation
import CastModels

/// Every activation point of one model, with its width, and the resolution of names typed
/// by hand (`--points`, `--layers`) into points, with errors that list what exists.
public struct PointCatalog: Sendable {
    public let modelName: String
    public let config: ModelConfig

    public init(modelName: String, config: ModelConfig) {
        self.modelName = modelName
        self.config = config
    }

    public init(_ model: Transformer) { self.init(modelName: model.name, config: model.config) }

    /// The kinds this architecture has (GPT-2's MLP has no gate, so no `hook_pre_linear`).
    public var kinds: [ActivationPointKind] { ActivationPointKind.allKinds.filter { $0.width(in: config) != nil } }

    public var layers: Range<Int> { 0..<config.layerCount }

    /// Every point, in the order the pass computes them.
    public var allPoints: [ActivationPoint] {
        layers.flatMap { l in kinds.filter(\.isPerLayer).map { ActivationPoint($0, layer: l) } }
            + [ActivationPoint(.finalNormalized, layer: nil)]
    }

    /// The point's width (its tensors are `[tokens, width]`), or nil when the model lacks it.
    public func width(of point: ActivationPoint) -> Int? {
        if let layer = point.layer, !layers.contains(layer) { return nil }
        return point.kind.width(in: config)
    }

    /// Checks that `point` exists in this model.
    public func check(_ point: ActivationPoint) throws {
        if let layer = point.layer, !layers.contains(layer) {
            throw AnalysisError("\(point.name): \(modelName) has no layer \(layer) (its layers are 0...\(config.layerCount - 1))")
        }
        guard width(of: point) != nil else {
            throw AnalysisError("\(point.name): \(modelName) (\(config.architecture.rawValue)) has no such point. "
                                + "Its points per layer: \(kindNames.joined(separator: ", "))")
        }
    }

    var kindNames: [String] { kinds.filter(\.isPerLayer).map(\.suffix) }

    /// Layers from `all`, `last`, or a list of indices and ranges (`0,5,10-12`).
    public func layers(parsing text: String) throws -> [Int] {
        let spec = text.trimmingCharacters(in: .whitespaces)
        if spec == "all" { return Array(layers) }
        if spec == "last" { return [config.layerCount - 1] }
        var out: [Int] = []
        for item in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let bounds = item.split(separator: "-", maxSplits: 1).map { Int($0) }
            guard !bounds.isEmpty, bounds.allSatisfy({ $0 != nil }) else {
                throw AnalysisError("--layers '\(text)': '\(item)' is not a layer; use all, last, or indices and ranges like 0,5,10-12 (layers 0...\(config.layerCount - 1))")
            }
            let lo = bounds[0]!, hi = bounds.count == 2 ? bounds[1]! : lo
            for l in [lo, hi] where !layers.contains(l) {
                throw AnalysisError("--layers: \(modelName) has no layer \(l); its layers are 0...\(config.layerCount - 1)")
            }
            guard lo <= hi else { throw AnalysisError("--layers: range \(item) runs backwards") }
            out += Array(lo...hi)
        }
        guard !out.isEmpty else { throw AnalysisError("--layers is empty; use all, last, or indices like 0,5,10") }
        var seen = Set<Int>()
        return out.filter { seen.insert($0).inserted }
    }

    /// Points from names: a full name (`blocks.3.attn.hook_q`, `ln_final.hook_normalized`)
    /// is that point; a per-layer name (`hook_resid_post`, `attn.hook_z`, `q_proj.hook_in`;
    /// `hook_` may be left out, as in `resid_post`) is that kind at each of `layers`.
    public func points(_ names: [String], layers selected: [Int]) throws -> [ActivationPoint] {
        var out: [ActivationPoint] = []
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            if let point = ActivationPoint(parsing: name) {
                try check(point)
                out.append(point)
            } else if let kind = kind(named: name) {
                if kind == .finalNormalized { out.append(ActivationPoint(kind, layer: nil)); continue }
                guard kind.width(in: config) != nil else {
                    throw AnalysisError("\(name): \(modelName) (\(config.architecture.rawValue)) has no such point. "
                                        + "Its points per layer: \(kindNames.joined(separator: ", "))")
                }
                out += selected.map { ActivationPoint(kind, layer: $0) }
            } else {
                throw unknown(name)
            }
        }
        guard !out.isEmpty else { throw AnalysisError("no points given; e.g. --points hook_resid_post (see `cast points -m \(modelName)`)") }
        var seen = Set<ActivationPoint>()
        return out.filter { seen.insert($0).inserted }
    }

    /// A kind by its per-layer name, with or without `hook_` on the last part.
    func kind(named name: String) -> ActivationPointKind? {
        let all = ActivationPointKind.allKinds
        if let k = all.first(where: { $0.suffix == name }) { return k }
        var parts = name.split(separator: ".").map(String.init)
        guard let last = parts.last, !last.hasPrefix("hook_") else { return nil }
        parts[parts.count - 1] = "hook_" + last
        let withHook = parts.joined(separator: ".")
        return all.first { $0.suffix == withHook }
    }

    private func unknown(_ name: String) -> AnalysisError {
        // A full name with a bad layer or a bad kind: say which part is wrong.
        let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, parts[0] == "blocks" {
            if let layer = Int(parts[1]), !layers.contains(layer), kind(named: String(parts[2])) != nil {
                return AnalysisError("\(name): \(modelName) has no layer \(layer) (its layers are 0...\(config.layerCount - 1))")
            }
            let suggestion = Suggestions.didYouMean(String(parts[2]), kindNames)
            return AnalysisError("\(name): no point '\(parts[2])' in a layer.\(suggestion) "
                                 + "Points per layer: \(kindNames.joined(separator: ", ")); and ln_final.hook_normalized")
        }
        let candidates = kindNames + [ActivationPointKind.finalNormalized.suffix]
        return AnalysisError("\(name): no such point.\(Suggestions.didYouMean(name, candidates)) "
                             + "Points per layer: \(kindNames.joined(separator: ", ")); and ln_final.hook_normalized "
                             + "(full names look like blocks.0.hook_resid_post; see `cast points -m \(modelName)`)")
    }
}
