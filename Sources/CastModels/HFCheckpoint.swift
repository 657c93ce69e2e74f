import CastTensor
import Foundation

/// The safetensors files of an HF model folder, looked up by tensor name: the files named
/// by `model.safetensors.index.json` when the checkpoint is sharded, else every
/// `*.safetensors` in the folder (a name in two files is an error, not a silent choice).
struct HFCheckpoint {
    let folder: URL
    private let files: [SafetensorsFile]
    private let fileOf: [String: Int]

    static let indexName = "model.safetensors.index.json"

    init(folder: URL) throws {
        self.folder = folder
        let index = folder.appendingPathComponent(Self.indexName)
        var fileNames: [String]
        var mapping: [String: String]? = nil
        if FileManager.default.fileExists(atPath: index.path) {
            let parsed = try? JSONSerialization.jsonObject(with: Data(contentsOf: index))
            guard let root = parsed as? [String: Any], let weightMap = root["weight_map"] as? [String: String] else {
                throw ModelError.invalidInput("\(index.path): expected a JSON object with a 'weight_map' of tensor name → file name")
            }
            mapping = weightMap
            fileNames = Array(Set(weightMap.values)).sorted()
            if let bad = fileNames.first(where: { $0.contains("/") || $0.hasPrefix(".") }) {
                throw ModelError.invalidInput("\(index.path): weight_map names file '\(bad)' outside the folder")
            }
        } else {
            let contents = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            fileNames = contents.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
        }
        guard !fileNames.isEmpty else {
            throw ModelError.invalidInput("\(folder.path): no *.safetensors weights in the folder")
        }
        files = try fileNames.map { try SafetensorsFile(url: folder.appendingPathComponent($0)) }
        var fileOf: [String: Int] = [:]
        if let mapping {
            for (tensor, file) in mapping {
                let i = fileNames.firstIndex(of: file)!
                guard files[i].contains(tensor) else {
                    throw ModelError.missingTensor(files[i].path, tensor)
                }
                fileOf[tensor] = i
            }
        } else {
            for (i, file) in files.enumerated() {
                for name in file.names {
                    if let j = fileOf[name] {
                        throw ModelError.invalidInput("\(folder.path): tensor '\(name)' is in both \(fileNames[j]) and \(fileNames[i])")
                    }
                    fileOf[name] = i
                }
            }
        }
        self.fileOf = fileOf
    }

    var tensorNames: [String] { fileOf.keys.sorted() }

    func contains(_ name: String) -> Bool { fileOf[name] != nil }

    /// The tensor as float32, after checking it has `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let i = fileOf[name] else { throw ModelError.missingTensor(folder.path, name) }
        let info = try files[i].info(name)
        guard info.shape == shape else {
            throw ModelError.tensorShape(files[i].path, name, expected: shape, actual: info.shape)
        }
        return try files[i].tensor(name)
    }
}
