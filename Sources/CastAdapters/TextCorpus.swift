import CastModels
import Foundation

/// General text to distil on: documents, with a held-out part (every `heldOutEvery`-th
/// document) kept apart for measuring KL to the teacher.
public struct TextCorpus: Sendable {
    public let name: String
    public let train: [String]
    public let heldOut: [String]

    public static let heldOutEvery = 20

    public init(name: String, documents: [String]) throws {
        let docs = documents.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard docs.count >= 2 else { throw AdapterError("corpus \(name): needs at least 2 non-empty documents, got \(docs.count)") }
        self.name = name
        var train: [String] = [], heldOut: [String] = []
        for (i, d) in docs.enumerated() {
            if i % Self.heldOutEvery == Self.heldOutEvery - 1 || (docs.count < Self.heldOutEvery && i == docs.count - 1) {
                heldOut.append(d)
            } else {
                train.append(d)
            }
        }
        self.train = train
        self.heldOut = heldOut
    }

    /// A corpus whose split is given: `train` to distil on, `heldOut` to measure on.
    public init(name: String, train: [String], heldOut: [String]) throws {
        let train = train.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard !train.isEmpty else { throw AdapterError("corpus \(name): no non-empty training document") }
        guard !heldOut.isEmpty else { throw AdapterError("corpus \(name): no held-out document") }
        self.name = name
        self.train = train
        self.heldOut = heldOut
    }

    /// The Wikipedia summaries (`cast fetch wiki`): a JSON object of title → {title, extract},
    /// or an array of strings or of objects with an `extract`, `summary` or `text` field.
    public static func wiki(fetchIfMissing: Bool = true) throws -> TextCorpus {
        try load(try ModelStore.path(for: "wiki", fetchIfMissing: fetchIfMissing), name: "wiki")
    }

    /// `wiki`, or the path of a JSON file of documents (named after the file).
    public static func named(_ name: String) throws -> TextCorpus {
        if name == "wiki" { return try wiki() }
        guard FileManager.default.fileExists(atPath: name) else {
            throw AdapterError("no corpus '\(name)' (wiki, or the path of a JSON file)")
        }
        let url = URL(fileURLWithPath: name)
        return try load(url, name: url.deletingPathExtension().lastPathComponent)
    }

    public static func load(_ url: URL, name: String) throws -> TextCorpus {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw AdapterError("\(url.path): cannot read the corpus")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw AdapterError("\(url.path): not JSON (\(error.localizedDescription))")
        }
        var documents: [String] = []
        if let object = json as? [String: Any] {
            for key in object.keys.sorted() {
                if let text = object[key] as? String { documents.append(text) }
                else if let record = object[key] as? [String: Any], let text = (record["extract"] ?? record["summary"] ?? record["text"]) as? String {
                    documents.append(text)
                }
            }
        } else if let array = json as? [Any] {
            for item in array {
                if let text = item as? String { documents.append(text) }
                else if let record = item as? [String: Any], let text = (record["extract"] ?? record["summary"] ?? record["text"]) as? String {
                    documents.append(text)
                }
            }
        } else {
            throw AdapterError("\(url.path): expected a JSON object or array of documents")
        }
        return try TextCorpus(name: name, documents: documents)
    }
}
