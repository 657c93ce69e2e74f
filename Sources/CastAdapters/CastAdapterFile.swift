import CastModels
import CastTensor
import Foundation

/// A CAST adapter in one safetensors file, written atomically: per target slot `P_in` and
/// `P_out`, the head, the frozen source factors (`source.<path>.lora_A/B`, so the file
/// stands alone), and in the header's metadata the models, layer map and layers as JSON.
/// (A training run's checkpoint is a `TrainingCheckpoint`, written beside it.)
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
}
