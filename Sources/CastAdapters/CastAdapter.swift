import CastModels
import CastTensor
import Foundation

/// A source LoRA carried onto a target model: one `CastLayer` per target slot whose mapped
/// source layer has that projection adapted, and the head `H [d_s, d_t]` that maps the
/// target's final hidden states into the source's for the hidden-state loss. Only the P's
/// and H train; the source factors stay frozen (shared by every target layer mapped to
/// the same source module).
public final class CastAdapter {
    public struct Layer {
        /// Where it sits on the target, and the source slot and module path it comes from.
        public let slot: AdapterSlot
        public let sourceSlot: AdapterSlot
        public let sourcePath: String
        public let cast: CastLayer
    }

    public let sourceName: String
    public let targetName: String
    /// The source's config (to read its LoRA back) and the target's.
    public let sourceConfig: ModelConfig
    public let targetConfig: ModelConfig
    public let layerMap: LayerMapping
    /// In target slot order.
    public let layers: [Layer]
    public var head: Tensor
    public var dHead: Tensor?
    public let adapters: AdapterSet

    init(sourceName: String, targetName: String, sourceConfig: ModelConfig, targetConfig: ModelConfig,
         layerMap: LayerMapping, layers: [Layer], head: Tensor) throws {
        guard !layers.isEmpty else { throw AdapterError("CAST adapter \(sourceName) → \(targetName): no layer to adapt") }
        self.sourceName = sourceName
        self.targetName = targetName
        self.sourceConfig = sourceConfig
        self.targetConfig = targetConfig
        self.layerMap = layerMap
        self.layers = layers.sorted { $0.slot < $1.slot }
        self.head = head
        adapters = AdapterSet(Dictionary(uniqueKeysWithValues: layers.map { ($0.slot, $0.cast as any LinearAdapter) }))
    }

    /// CAST layers for `lora` (trained on `source`) on `target`: for each target layer the
    /// map pairs with a source layer, a CAST layer on every projection the LoRA adapts in
    /// that source layer. Initial values: P_in Gaussian with variance 1/in_t (keeps the
    /// per-element scale of its input), P_out zero (so the student starts as the bare
    /// target, as a fresh LoRA does), H Gaussian with variance 1/d_t. Seeded.
    public convenience init(lora: LoRAAdapter, source: Transformer, target: Transformer,
                            layerMap: LayerMapping = .relativeDepth, seed: UInt64 = 0) throws {
        try lora.adapters.validate(for: source)
        let t = target.config, s = source.config
        let pairs = try layerMap.pairs(sourceLayers: s.layerCount, targetLayers: t.layerCount)
        var rng = SeededGenerator(seed: seed ^ 0xCA57)
        var layers: [Layer] = []
        let targetModules = LinearModule.modules(of: t.architecture)
        for targetLayer in pairs.keys.sorted() {
            let sourceLayer = pairs[targetLayer]!
            for module in lora.modules {
                for (slot, rows) in module.slots where slot.layer == sourceLayer {
                    guard targetModules.contains(slot.module) else {
                        throw AdapterError("\(target.name) (\(t.architecture.rawValue)) has no \(slot.module.rawValue) for the LoRA's \(module.path)")
                    }
                    let shape = slot.module.shape(in: t)
                    let pIn = Tensor.randomNormal([module.factors.inputWidth, shape.input],
                                                  std: 1 / Float(shape.input).squareRoot(), using: &rng)
                    let pOut = Tensor(zeros: [shape.output, rows.count])
                    let cast = try CastLayer(source: module.factors, sourceRows: rows, pIn: pIn, pOut: pOut)
                    layers.append(Layer(slot: AdapterSlot(layer: targetLayer, module: slot.module), sourceSlot: slot,
                                        sourcePath: module.path, cast: cast))
                }
            }
        }
        guard !layers.isEmpty else {
            let sourceLayers = Set(lora.modules.flatMap { $0.slots.map(\.slot.layer) }).sorted()
            throw AdapterError("layer map \(layerMap) pairs no target layer with the LoRA's source layers \(sourceLayers)")
        }
        let head = Tensor.randomNormal([s.hiddenSize, t.hiddenSize], std: 1 / Float(t.hiddenSize).squareRoot(), using: &rng)
        try self.init(sourceName: source.name, targetName: target.name, sourceConfig: s, targetConfig: t, layerMap: layerMap,
                      layers: layers, head: head)
    }

    public var parameterCount: Int { layers.reduce(head.count) { $0 + $1.cast.pIn.count + $1.cast.pOut.count } }

    public func setTrainable(_ trainable: Bool) {
        for layer in layers { layer.cast.setTrainable(trainable) }
        dHead = trainable ? Tensor(zeros: head.shape) : nil
    }

    public var isTrainable: Bool { dHead != nil }

    public func zeroGradients() {
        for layer in layers {
            layer.cast.dPIn?.zero()
            layer.cast.dPOut?.zero()
        }
        dHead?.zero()
    }

    /// The adapter as an ordinary LoRA for the target, in closed form: per target module
    /// `A_t = A·P_in`, `B_t = P_out·B`, same rank and scale as the source module. It gives
    /// the target what the CAST layers give it, up to float rounding.
    public func exported() throws -> LoRAAdapter {
        try LoRAAdapter(bySlot: layers.map { layer in
            let (a, b) = layer.cast.compositeFactors()
            return (layer.slot, try LoRAFactors(a: a, b: b, scale: layer.cast.scale, trainable: false))
        }, model: targetConfig, source: "CAST export for \(targetName)")
    }
}

extension CastAdapter: TrainableTensors {
    /// `<slot>.p_in`, `<slot>.p_out` per layer in slot order, then `head`.
    public var parameterNames: [String] {
        layers.flatMap { ["\($0.slot).p_in", "\($0.slot).p_out"] } + ["head"]
    }

    public func takeParameters() -> (values: [Tensor], gradients: [Tensor]) {
        var values: [Tensor] = [], gradients: [Tensor] = []
        for layer in layers {
            values += [layer.cast.pIn, layer.cast.pOut]
            gradients += [layer.cast.dPIn ?? Tensor(), layer.cast.dPOut ?? Tensor()]
            layer.cast.pIn = Tensor(); layer.cast.pOut = Tensor()
            if layer.cast.dPIn != nil { layer.cast.dPIn = Tensor(); layer.cast.dPOut = Tensor() }
        }
        values.append(head)
        gradients.append(dHead ?? Tensor())
        head = Tensor()
        if dHead != nil { dHead = Tensor() }
        return (values, gradients)
    }

    public func returnParameters(values: [Tensor], gradients: [Tensor]) {
        for (k, layer) in layers.enumerated() {
            layer.cast.pIn = values[2 * k]; layer.cast.pOut = values[2 * k + 1]
            if layer.cast.dPIn != nil { layer.cast.dPIn = gradients[2 * k]; layer.cast.dPOut = gradients[2 * k + 1] }
        }
        head = values[values.count - 1]
        if dHead != nil { dHead = gradients[gradients.count - 1] }
    }
}
