import CastModels
import Foundation

/// A LoRA's hyper-parameters as PEFT's `adapter_config.json` holds them.
public struct LoRAConfig: Equatable, Sendable {
    /// Default rank and alpha; `rankPattern`/`alphaPattern` override them per module (keys
    /// are regular expressions matched against the end of the module path, as in PEFT).
    public var rank: Int
    public var alpha: Double
    /// PEFT `target_modules` names (`q_proj`, … ; GPT-2: `c_attn`, `c_proj`, `c_fc`).
    public var targetModules: [String]
    /// PEFT's string form of `target_modules`: a regular expression the whole module path
    /// must match (used instead of `targetModules` when set).
    public var targetPattern: String? = nil
    /// Only these layers (nil: every layer).
    public var layers: [Int]?
    public var rankPattern: [String: Int] = [:]
    public var alphaPattern: [String: Double] = [:]
    /// rsLoRA: scale alpha/√r instead of alpha/r.
    public var useRSLoRA = false
    public var dropout: Double = 0
    public var baseModel: String? = nil

    public init(rank: Int, alpha: Double, targetModules: [String], layers: [Int]? = nil,
                rankPattern: [String: Int] = [:], alphaPattern: [String: Double] = [:],
                useRSLoRA: Bool = false, dropout: Double = 0, baseModel: String? = nil) {
        self.rank = rank
        self.alpha = alpha
        self.targetModules = targetModules
        self.layers = layers
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.useRSLoRA = useRSLoRA
        self.dropout = dropout
        self.baseModel = baseModel
    }

    /// Rank and scale of the module at `path` (e.g. `model.layers.3.self_attn.q_proj`).
    public func rankAndScale(of path: String) -> (rank: Int, scale: Float) {
        let r = Self.patternValue(rankPattern, path) ?? rank
        let a = Self.patternValue(alphaPattern, path) ?? alpha
        let scale = useRSLoRA ? a / Double(r).squareRoot() : a / Double(r)
        return (r, Float(scale))
    }

    /// Whether the LoRA adapts the module at `path` of layer `layer`.
    public func targets(path: String, layer: Int) -> Bool {
        if let layers, !layers.contains(layer) { return false }
        if let targetPattern {
            guard let regex = try? NSRegularExpression(pattern: "^(?:\(targetPattern))$") else { return false }
            return regex.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
        }
        let last = path.split(separator: ".").last.map(String.init) ?? path
        return targetModules.contains { $0 == last || path.hasSuffix("." + $0) || $0 == path }
    }

    /// PEFT's rule: a pattern key matches a module path when `(.*\.)?key$` matches it whole;
    /// the first key in sorted order that matches wins (PEFT takes dict order; keys that
    /// overlap are ambiguous there too).
    static func patternValue<V>(_ pattern: [String: V], _ path: String) -> V? {
        for key in pattern.keys.sorted() {
            guard let regex = try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$") else { continue }
            let range = NSRange(path.startIndex..., in: path)
            if regex.firstMatch(in: path, range: range) != nil { return pattern[key] }
        }
        return nil
    }

    /// Checks what a PEFT file cannot express or cast cannot honour.
    public func validate(source: String) throws {
        guard rank > 0 else { throw AdapterError("\(source): r must be a positive integer, got \(rank)") }
        guard alpha.isFinite else { throw AdapterError("\(source): lora_alpha must be a number, got \(alpha)") }
        guard !targetModules.isEmpty || targetPattern != nil else { throw AdapterError("\(source): target_modules is empty") }
        if let targetPattern, (try? NSRegularExpression(pattern: targetPattern)) == nil {
            throw AdapterError("\(source): target_modules '\(targetPattern)' is not a valid regular expression")
        }
        if let bad = rankPattern.first(where: { $0.value <= 0 }) {
            throw AdapterError("\(source): rank_pattern['\(bad.key)'] must be a positive integer, got \(bad.value)")
        }
        for key in Array(rankPattern.keys) + Array(alphaPattern.keys) where (try? NSRegularExpression(pattern: key)) == nil {
            throw AdapterError("\(source): pattern key '\(key)' is not a valid regular expression")
        }
        guard (0..<1).contains(dropout) else { throw AdapterError("\(source): lora_dropout must be in [0, 1), got \(dropout)") }
    }
}
