import ArgumentParser
import CastAnalysis
import CastModels
import Foundation

/// `cast points -m MODEL`: every activation point a model has, with its shape.
struct Points: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the activation points of a model (TransformerLens names) with their shapes.")

    @OptionGroup var model: ModelOptions
    @Flag(help: "List every point of every layer, not one line per kind.") var expand = false
    @Flag(help: "Print JSON: {\"model\", \"architecture\", \"layers\", \"points\": [{\"name\", \"width\"}, ...]} (every point).")
    var json = false

    func run() throws {
        let transformer = try model.load().model
        let config = transformer.config, name = transformer.name
        let catalog = PointCatalog(transformer)
        if json {
            struct Entry: Encodable { let name: String; let width: Int }
            struct Output: Encodable { let model: String; let architecture: String; let layers: Int; let points: [Entry] }
            let points = catalog.allPoints.map { Entry(name: $0.name, width: catalog.width(of: $0)!) }
            let output = Output(model: name, architecture: config.architecture.rawValue, layers: config.layerCount, points: points)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print("\(name) (\(config.architecture.rawValue)): \(config.layerCount) layers, d = \(config.hiddenSize); "
              + "\(catalog.allPoints.count) points, each [tokens, width]")
        let rows: [[String]]
        if expand {
            rows = catalog.allPoints.map { [$0.name, "[tokens, \(catalog.width(of: $0)!)]", $0.kind.summary] }
        } else {
            let last = config.layerCount - 1
            rows = catalog.kinds.map { kind in
                let name = kind.isPerLayer ? "blocks.{0..\(last)}.\(kind.suffix)" : kind.suffix
                return [name, "[tokens, \(kind.width(in: config)!)]", kind.summary]
            }
        }
        print(TextTable(header: ["POINT", "SHAPE", "WHAT"], rows: rows).render())
    }
}
