import Foundation

/// Which source layer each target layer takes its CAST layers from.
public enum LayerMapping: Equatable, Sendable, CustomStringConvertible {
    /// Target layer l ← source layer l (target layers past the source's depth get none).
    case index
    /// Target layer l ← the source layer at the same relative depth,
    /// `round(l·(L_s − 1)/(L_t − 1))`.
    case relativeDepth
    /// Exactly these pairs, target layer → source layer.
    case explicit([Int: Int])

    /// Parses `index`, `depth` or `T:S,T:S,…` (target:source pairs).
    public init(parsing text: String) throws {
        switch text {
        case "index": self = .index
        case "depth", "relative-depth": self = .relativeDepth
        default:
            var pairs: [Int: Int] = [:]
            for item in text.split(separator: ",") {
                let parts = item.split(separator: ":")
                guard parts.count == 2, let t = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                      let s = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
                    throw AdapterError("layer map '\(text)': expected index, depth or target:source pairs like 0:0,1:2 (at '\(item)')")
                }
                guard pairs[t] == nil else { throw AdapterError("layer map '\(text)': target layer \(t) appears twice") }
                pairs[t] = s
            }
            guard !pairs.isEmpty else { throw AdapterError("layer map is empty") }
            self = .explicit(pairs)
        }
    }

    public var description: String {
        switch self {
        case .index: "index"
        case .relativeDepth: "depth"
        case .explicit(let pairs): pairs.keys.sorted().map { "\($0):\(pairs[$0]!)" }.joined(separator: ",")
        }
    }

    /// Target layer → source layer for models of these depths; checks explicit layers exist.
    public func pairs(sourceLayers: Int, targetLayers: Int) throws -> [Int: Int] {
        switch self {
        case .index:
            return Dictionary(uniqueKeysWithValues: (0..<min(sourceLayers, targetLayers)).map { ($0, $0) })
        case .relativeDepth:
            guard targetLayers > 1 else { return [0: 0] }
            return Dictionary(uniqueKeysWithValues: (0..<targetLayers).map { t in
                (t, Int((Double(t) * Double(sourceLayers - 1) / Double(targetLayers - 1)).rounded()))
            })
        case .explicit(let pairs):
            for (t, s) in pairs.sorted(by: { $0.key < $1.key }) {
                guard (0..<targetLayers).contains(t) else {
                    throw AdapterError("layer map \(self): target layer \(t) does not exist (the target has layers 0..<\(targetLayers))")
                }
                guard (0..<sourceLayers).contains(s) else {
                    throw AdapterError("layer map \(self): source layer \(s) does not exist (the source has layers 0..<\(sourceLayers))")
                }
            }
            return pairs
        }
    }
}

extension LayerMapping: Codable {
    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
