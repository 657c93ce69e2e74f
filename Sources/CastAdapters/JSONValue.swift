import Foundation

/// Any JSON value, decoded strictly (a number is never a boolean), for files whose fields
/// are checked one by one with errors that name them.
public enum JSONValue: Decodable, Equatable, Sendable {
    case null, bool(Bool), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// null, false, an empty list or object: what PEFT writes for a feature that is off.
    public var isOff: Bool {
        switch self {
        case .null, .bool(false): true
        case .array(let a): a.isEmpty
        case .object(let o): o.isEmpty
        default: false
        }
    }

    public var integer: Int? {
        if case .number(let d) = self, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        return nil
    }

    public var number: Double? {
        if case .number(let d) = self { return d }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Short JSON text of the value, for error messages.
    public var text: String {
        let full: String
        switch self {
        case .null: full = "null"
        case .bool(let b): full = b ? "true" : "false"
        case .number(let d): full = d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): full = "\"\(s)\""
        case .array(let a): full = "[" + a.map(\.text).joined(separator: ", ") + "]"
        case .object(let o): full = "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.text)" }.joined(separator: ", ") + "}"
        }
        return full.count > 80 ? String(full.prefix(77)) + "…" : full
    }
}
