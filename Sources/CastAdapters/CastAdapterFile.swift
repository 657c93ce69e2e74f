import CastModels
import CastTensor
import Foundation

/// A CAST adapter in one safetensors file, written atomically: per target slot `P_in` and
/// `P_out`, the head, the frozen source factors (`source.<path>.lora_A/B`, so the file
/// stands alone), and in the header's metadata the models, layer map and layers as JSON.
/// With a trainer, also both AdamW moments and the completed step: a checkpoint that
/// resumes the run exactly.
public enum CastAdapterFile {
    public static let fileName = "cast_adapter.safetensors"

    struct LayerRecord: Codable {
        var slot: String
        var layer: Int
        var module: String
        var sourceLayer: Int
        var sourcePath: String
        var sourceRows: [Int]
        var scale: Float
    }

    struct Header: Codable {
        var format = "cast-adapter-1"
        var source: String
        var target: String
        var layerMap: LayerMapping
        var layers: [LayerRecord]
        /// Checkpoints only.
        var step: Int?
        var optimizerSteps: Int?
        var options: CastOptions?
    }

    /// The CAST adapter file `path` names (the file itself, or the folder holding
    /// `cast_adapter.safetensors`), or nil when it is not one (a LoRA folder or file).
    public static func locate(_ path: String) -> URL? {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            let file = url.appendingPathComponent(fileName)
            return FileManager.default.fileExists(atPath: file.path) ? file : nil
        }
        guard url.pathExtension == "safetensors", let file = try? SafetensorsFile(url: url) else { return nil }
        return file.metadata["cast"] != nil ? url : nil
    }

    public static func save(_ cast: CastAdapter, to url: URL) throws {
        var writer = SafetensorsWriter()
        let header = try add(cast, to: &writer)
        try write(header, writer, url)
    }

    /// The adapter and the trainer's optimizer state and step.
    public static func saveCheckpoint(_ trainer: CastTrainer, to url: URL) throws {
        var writer = SafetensorsWriter()
        var header = try add(trainer.cast, to: &writer)
        let (count, first, second) = trainer.optimizer.state
        if count > 0 {
            for (k, name) in trainer.parameterNames.enumerated() {
                try writer.add("adamw.m." + name, first[k])
                try writer.add("adamw.v." + name, second[k])
            }
        }
        header.step = trainer.completedSteps
        header.optimizerSteps = count
        header.options = trainer.options
        try write(header, writer, url)
    }

    private static func add(_ cast: CastAdapter, to writer: inout SafetensorsWriter) throws -> Header {
        for (path, f) in cast.sourceFactors.sorted(by: { $0.key < $1.key }) {
            try writer.add("source.\(path).lora_A", f.a)
            try writer.add("source.\(path).lora_B", f.b)
        }
        var records: [LayerRecord] = []
        for layer in cast.layers {
            try writer.add("\(layer.slot).p_in", layer.cast.pIn)
            try writer.add("\(layer.slot).p_out", layer.cast.pOut)
            records.append(LayerRecord(slot: layer.slot.description, layer: layer.slot.layer, module: layer.slot.module.rawValue,
                                       sourceLayer: layer.sourceSlot.layer, sourcePath: layer.sourcePath,
                                       sourceRows: [layer.cast.sourceRows.lowerBound, layer.cast.sourceRows.upperBound],
                                       scale: layer.cast.scale))
        }
        try writer.add("head", cast.head)
        return Header(source: cast.sourceName, target: cast.targetName, layerMap: cast.layerMap, layers: records)
    }

    private static func write(_ header: Header, _ writer: SafetensorsWriter, _ url: URL) throws {
        var writer = writer
        writer.metadata["cast"] = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        try writer.write(to: url)
    }

    private static func header(_ file: SafetensorsFile, _ url: URL) throws -> Header {
        guard let json = file.metadata["cast"] else {
            throw AdapterError("\(url.path): not a cast adapter (no 'cast' metadata in the safetensors header)")
        }
        do { return try JSONDecoder().decode(Header.self, from: Data(json.utf8)) } catch {
            throw AdapterError("\(url.path): the 'cast' metadata is not a cast adapter header (\(error))")
        }
    }

    /// Loads a CAST adapter for `target` (checked against the file's shapes).
    public static func load(_ url: URL, target: Transformer) throws -> CastAdapter {
        let file = try SafetensorsFile(url: url)
        let h = try header(file, url)
        guard h.format == "cast-adapter-1" else { throw AdapterError("\(url.path): unknown format '\(h.format)'") }
        var factors: [String: LoRAFactors] = [:]
        var layers: [CastAdapter.Layer] = []
        for r in h.layers {
            guard let module = LinearModule(rawValue: r.module) else {
                throw AdapterError("\(url.path): layer \(r.slot): unknown module '\(r.module)'")
            }
            if factors[r.sourcePath] == nil {
                factors[r.sourcePath] = try LoRAFactors(a: try file.tensor("source.\(r.sourcePath).lora_A"),
                                                        b: try file.tensor("source.\(r.sourcePath).lora_B"),
                                                        scale: r.scale, trainable: false)
            }
            guard r.sourceRows.count == 2, r.sourceRows[0] >= 0, r.sourceRows[0] < r.sourceRows[1],
                  r.sourceRows[1] <= factors[r.sourcePath]!.outputWidth else {
                throw AdapterError("\(url.path): layer \(r.slot): source rows \(r.sourceRows) do not fit \(r.sourcePath)")
            }
            let slot = AdapterSlot(layer: r.layer, module: module)
            let cast = try CastLayer(source: factors[r.sourcePath]!, sourceRows: r.sourceRows[0]..<r.sourceRows[1],
                                     pIn: try file.tensor("\(slot).p_in"), pOut: try file.tensor("\(slot).p_out"), trainable: false)
            layers.append(CastAdapter.Layer(slot: slot, sourceSlot: AdapterSlot(layer: r.sourceLayer, module: module),
                                            sourcePath: r.sourcePath, cast: cast))
        }
        let adapter = try CastAdapter(sourceName: h.source, targetName: h.target, targetConfig: target.config,
                                      layerMap: h.layerMap, layers: layers, head: try file.tensor("head"))
        do { try adapter.adapters.validate(for: target) } catch {
            throw AdapterError("\(url.path): made for \(h.target), does not fit \(target.name): \(error)")
        }
        guard adapter.head.rank == 2, adapter.head.shape[1] == target.config.hiddenSize else {
            throw AdapterError("\(url.path): head \(adapter.head.shape) does not read \(target.name)'s hidden size \(target.config.hiddenSize)")
        }
        return adapter
    }

    /// Restores a checkpoint into `trainer` (same layers; options equal but for `steps`).
    public static func restore(_ trainer: CastTrainer, from url: URL) throws {
        let file = try SafetensorsFile(url: url)
        let h = try header(file, url)
        guard let step = h.step, let optimizerSteps = h.optimizerSteps, let saved = h.options else {
            throw AdapterError("\(url.path): a CAST adapter, not a checkpoint (no step or optimizer state)")
        }
        guard h.layers.map(\.slot) == trainer.cast.layers.map(\.slot.description) else {
            throw AdapterError("\(url.path): the checkpoint's CAST layers differ from this run's")
        }
        var expected = trainer.options, made = saved
        expected.training.steps = 0; made.training.steps = 0
        guard expected == made else {
            throw AdapterError("\(url.path): made with other CAST options; resuming would not continue that run")
        }
        for layer in trainer.cast.layers {
            layer.cast.pIn = try checked(file, "\(layer.slot).p_in", layer.cast.pIn.shape, url)
            layer.cast.pOut = try checked(file, "\(layer.slot).p_out", layer.cast.pOut.shape, url)
        }
        trainer.cast.head = try checked(file, "head", trainer.cast.head.shape, url)
        var first: [Tensor] = [], second: [Tensor] = []
        if optimizerSteps > 0 {
            for name in trainer.parameterNames {
                first.append(try file.tensor("adamw.m." + name))
                second.append(try file.tensor("adamw.v." + name))
            }
        }
        try trainer.optimizer.restore(stepCount: optimizerSteps, firstMoments: first, secondMoments: second)
        trainer.resume(atStep: step)
    }

    private static func checked(_ file: SafetensorsFile, _ name: String, _ shape: [Int], _ url: URL) throws -> Tensor {
        let t = try file.tensor(name)
        guard t.shape == shape else { throw AdapterError("\(url.path): \(name) is \(t.shape), this run's is \(shape)") }
        return t
    }
}
