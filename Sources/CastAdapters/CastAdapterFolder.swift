import CastModels
import CastTensor
import Foundation

/// A CAST adapter on disk, plain JSON + safetensors so other tools can read and write it:
/// - `cast_config.json`: format and version, both models (the source's config too, to read its
///   LoRA), the source adapter's path and SHA-256s, the layer map, one record per CAST layer
///   (target slot, source layer and module, rows of the source B, scale), and for a trained
///   adapter the CAST options, the step it holds and the held-out KL at the start and end;
/// - `cast_adapter.safetensors`: `<slot>.p_in` `[d_in_s, d_in_t]`, `<slot>.p_out`
///   `[d_out_t, rows]` per layer (slot = `layers.<l>.<module>`) and `head` `[d_s, d_t]`.
/// Tensors are in HF order, as PyTorch reads them: a P_out's rows follow the target's HF
/// projection rows and its columns the source's (llama q/k rows are rotate-half there,
/// adjacent pairs inside cast). The source factors are not copied: loading reads them from the source adapter and refuses
/// one that is missing or changed. Both files are written atomically, tensors first.
public enum CastAdapterFolder {
    public static let configName = "cast_config.json"
    public static let weightsName = "cast_adapter.safetensors"
    static let format = "cast-adapter", version = 2

    public struct LayerRecord: Codable, Equatable, Sendable {
        public var name: String
        public var targetLayer: Int
        public var module: String
        public var sourceLayer: Int
        /// The source LoRA's module path (PEFT naming) and the rows of its B this slot uses.
        public var sourceModule: String
        public var sourceRows: [Int]
        public var scale: Float
        public var rank: Int
    }

    /// Held-out KL to the teacher (temperature 1, aligned positions, shared tokens).
    public struct HeldOutRecord: Codable, Equatable, Sendable {
        public var windows: Int
        public var start: Double?
        public var end: Double?
        public init(windows: Int, start: Double? = nil, end: Double? = nil) {
            self.windows = windows
            self.start = start
            self.end = end
        }
    }

    public struct Config: Codable, Sendable {
        public var format = CastAdapterFolder.format
        public var version = CastAdapterFolder.version
        public var sourceModel: String
        public var targetModel: String
        public var sourceConfig: ModelConfig
        public var sourceAdapter: SourceAdapterIdentity
        public var layerMap: LayerMapping
        public var layers: [LayerRecord]
        /// How it was trained (nil for an adapter made otherwise) and the step it holds.
        public var options: CastOptions?
        public var step: Int
        public var heldOutKL: HeldOutRecord?
        /// The text it was distilled on (absent in folders from before this field).
        public var corpus: String?

        /// Written and read with snake-case key conversion (`held_out_kl` reads back as `heldOutKl`).
        enum CodingKeys: String, CodingKey {
            case format, version, sourceModel, targetModel, sourceConfig, sourceAdapter, layerMap, layers, options, step, corpus
            case heldOutKL = "heldOutKl"
        }
    }

    /// How a trained adapter came to be, for its config.
    public struct Training: Sendable {
        public var options: CastOptions
        public var step: Int
        public var heldOutKL: HeldOutRecord?
        /// The text distilled on, in words ("wiki", or what the teacher wrote).
        public var corpus: String?
        public init(options: CastOptions, step: Int, heldOutKL: HeldOutRecord? = nil, corpus: String? = nil) {
            self.options = options
            self.step = step
            self.heldOutKL = heldOutKL
            self.corpus = corpus
        }
    }

    /// The CAST folder `path` names (the folder, or its `cast_config.json`), or nil when it is
    /// not one (a LoRA folder or file).
    public static func locate(_ path: String) -> URL? {
        var url = URL(fileURLWithPath: path)
        if url.lastPathComponent == configName { url.deleteLastPathComponent() }
        return FileManager.default.fileExists(atPath: url.appendingPathComponent(configName).path) ? url : nil
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    public static func save(_ cast: CastAdapter, sourceAdapter: SourceAdapterIdentity, training: Training? = nil,
                            to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let step = training?.step ?? 0
        var writer = SafetensorsWriter(metadata: ["format": format, "step": String(step)])
        var records: [LayerRecord] = []
        for layer in cast.layers {
            try writer.add("\(layer.slot).p_in", layer.cast.pIn)
            try writer.add("\(layer.slot).p_out", try hfOrder(layer.cast.pOut, layer, cast.sourceConfig, cast.targetConfig, toHF: true))
            records.append(LayerRecord(name: layer.slot.description, targetLayer: layer.slot.layer, module: layer.slot.module.rawValue,
                                       sourceLayer: layer.sourceSlot.layer, sourceModule: layer.sourcePath,
                                       sourceRows: [layer.cast.sourceRows.lowerBound, layer.cast.sourceRows.upperBound],
                                       scale: layer.cast.scale, rank: layer.cast.source.rank))
        }
        try writer.add("head", cast.head)
        let config = Config(sourceModel: cast.sourceName, targetModel: cast.targetName, sourceConfig: cast.sourceConfig,
                            sourceAdapter: sourceAdapter, layerMap: cast.layerMap, layers: records,
                            options: training?.options, step: step, heldOutKL: training?.heldOutKL,
                            corpus: training?.corpus)
        try writer.write(to: folder.appendingPathComponent(weightsName))
        try encoder().encode(config).write(to: folder.appendingPathComponent(configName), options: .atomic)
    }

    /// The folder's config, checked for format and version.
    public static func config(_ folder: URL) throws -> Config {
        let url = folder.appendingPathComponent(configName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw AdapterError("\(folder.path): no \(configName) (not a CAST adapter folder)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            guard object["format"] as? String == format else {
                throw AdapterError("\(url.path): field 'format' is \(object["format"].map { "'\($0)'" } ?? "missing"), expected '\(format)'")
            }
            guard object["version"] as? Int == version else {
                throw AdapterError("\(url.path): field 'version' is \(object["version"].map { "\($0)" } ?? "missing"), "
                                   + "this cast reads version \(version)")
            }
        }
        do { return try decoder.decode(Config.self, from: data) } catch let error as DecodingError {
            throw AdapterError("\(url.path): \(error.fieldDescription)")
        }
    }

    /// Loads the CAST adapter in `folder` for `target`, reading its frozen source LoRA from
    /// where the config says (or `sourceAdapter`, when it moved) after checking its SHA-256s.
    public static func load(_ folder: URL, target: Transformer, sourceAdapter: String? = nil) throws -> CastAdapter {
        let config = try config(folder)
        var identity = config.sourceAdapter
        if let sourceAdapter { identity.path = URL(fileURLWithPath: sourceAdapter).standardizedFileURL.path }
        try identity.verify(for: folder.path)
        let lora = try LoRAAdapter.load(identity.path, for: config.sourceConfig)
        let weightsURL = folder.appendingPathComponent(weightsName)
        let file = try SafetensorsFile(url: weightsURL)
        guard file.metadata["step"] == String(config.step) else {
            throw AdapterError("\(weightsURL.path) holds step \(file.metadata["step"] ?? "?") but \(configName) says step \(config.step) "
                               + "(a write was interrupted: rerun `cast transfer --resume`)")
        }
        var layers: [CastAdapter.Layer] = []
        for r in config.layers {
            let at = "\(folder.path)/\(configName): layer \(r.name)"
            guard let module = LinearModule(rawValue: r.module) else { throw AdapterError("\(at): unknown module '\(r.module)'") }
            guard let source = lora.modules.first(where: { $0.path == r.sourceModule }) else {
                throw AdapterError("\(at): the source adapter has no module \(r.sourceModule)")
            }
            guard r.sourceRows.count == 2, r.sourceRows[0] >= 0, r.sourceRows[0] < r.sourceRows[1],
                  r.sourceRows[1] <= source.factors.outputWidth else {
                throw AdapterError("\(at): source rows \(r.sourceRows) do not fit \(r.sourceModule) (\(source.factors.outputWidth) rows)")
            }
            guard source.factors.scale == r.scale, source.factors.rank == r.rank else {
                throw AdapterError("\(at): \(r.sourceModule) has rank \(source.factors.rank) and scale \(source.factors.scale), "
                                   + "the config says \(r.rank) and \(r.scale)")
            }
            let slot = AdapterSlot(layer: r.targetLayer, module: module)
            let cast = try CastLayer(source: source.factors, sourceRows: r.sourceRows[0]..<r.sourceRows[1],
                                     pIn: try file.tensor("\(slot).p_in"), pOut: try hfOrder(file.tensor("\(slot).p_out"), slot: slot, sourceSlot: AdapterSlot(layer: r.sourceLayer, module: module), rows: r.sourceRows[0]..<r.sourceRows[1], config.sourceConfig, target.config, toHF: false), trainable: false)
            layers.append(CastAdapter.Layer(slot: slot, sourceSlot: AdapterSlot(layer: r.sourceLayer, module: module),
                                            sourcePath: r.sourceModule, cast: cast))
        }
        let adapter = try CastAdapter(sourceName: config.sourceModel, targetName: config.targetModel, sourceConfig: config.sourceConfig,
                                      targetConfig: target.config, layerMap: config.layerMap, layers: layers,
                                      head: try file.tensor("head"))
        do { try adapter.adapters.validate(for: target) } catch {
            throw AdapterError("\(folder.path): made for \(config.targetModel), does not fit \(target.name): \(error)")
        }
        guard adapter.head.rank == 2, adapter.head.shape == [config.sourceConfig.hiddenSize, target.config.hiddenSize] else {
            throw AdapterError("\(weightsURL.path): head \(adapter.head.shape), expected [\(config.sourceConfig.hiddenSize), "
                               + "\(target.config.hiddenSize)] (source and \(target.name) hidden sizes)")
        }
        return adapter
    }

    /// P_out `[d_out_t, rows_s]` between cast's row order and HF's: rows as the target
    /// projection's output rows, columns as the source projection's (whole projections only:
    /// a slice of a fused GPT-2 c_attn needs no reordering).
    static func hfOrder(_ p: Tensor, _ layer: CastAdapter.Layer, _ source: ModelConfig, _ target: ModelConfig,
                        toHF: Bool) throws -> Tensor {
        try hfOrder(p, slot: layer.slot, sourceSlot: layer.sourceSlot, rows: layer.cast.sourceRows, source, target, toHF: toHF)
    }

    static func hfOrder(_ p: Tensor, slot: AdapterSlot, sourceSlot: AdapterSlot, rows: Range<Int>,
                        _ source: ModelConfig, _ target: ModelConfig, toHF: Bool) throws -> Tensor {
        func reorder(_ t: Tensor, _ module: LinearModule, _ config: ModelConfig) throws -> Tensor {
            guard t.rank == 2, t.shape[0] == module.shape(in: config).output else { return t }
            return toHF ? try HFLayout.outputRowsToHF(t, module: module, config: config)
                : try HFLayout.outputRowsFromHF(t, module: module, config: config)
        }
        guard p.rank == 2, rows.count == p.shape[1] else { return p }
        let byRows = try reorder(p, slot.module, target)
        return try reorder(try byRows.transposed(), sourceSlot.module, source).transposed()
    }
}
