/// A value of the cast language. Plain values (numbers, strings, lists…) are cases here;
/// engine values (models, token lists, generation results, tables…) are `ScriptObject`s,
/// each with its own attribute table and display.
public enum Value {
    case none
    case bool(Bool)
    /// Every number is a Double; integers print without a fraction.
    case number(Double)
    case string(String)
    case list([Value])
    case range(RangeValue)
    case builtin(Builtin)
    case object(any ScriptObject)

    /// The type's name as the language spells it ("number", "model", "tokens").
    public var typeName: String {
        switch self {
        case .none: "none"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .list: "list"
        case .range: "range"
        case .builtin: "builtin"
        case .object(let o): o.typeName
        }
    }

    /// "a number", "an adapter": the type's name with its article, for messages.
    public var typeWithArticle: String { Value.withArticle(typeName) }

    static func withArticle(_ name: String) -> String {
        if name == "none" { return "none" }
        return ("aeiou".contains(name.first ?? "x") ? "an " : "a ") + name
    }

    /// The number as an Int when it is a whole number an Int holds exactly (|x| ≤ 2^53).
    public var integer: Int? {
        guard case .number(let x) = self, x.isFinite, x == x.rounded(.towardZero), abs(x) <= 9_007_199_254_740_992 else {
            return nil
        }
        return Int(x)
    }

    /// Element count for `len` and indexing; nil for values without elements.
    public var length: Int? {
        switch self {
        case .string(let s): s.count
        case .list(let items): items.count
        case .range(let r): r.count
        case .object(let o): o.length
        default: nil
        }
    }
}

extension Value: Equatable {
    /// Structural for plain values, identity for engine objects; values of different types
    /// are unequal (never an error, so `x == none` always works).
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.none, .none): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.list(x), .list(y)): x == y
        case let (.range(x), .range(y)): x == y
        case let (.builtin(x), .builtin(y)): x.name == y.name
        case let (.object(x), .object(y)): x === y
        default: false
        }
    }
}

/// Whole numbers from `start` towards `end` (excluded) by `step`: `0..<4`, `1...3` (stored
/// as `1..<4`), `range(0, 10, 2)`. Lazy: `0..<1e12` costs nothing until it is listed.
public struct RangeValue: Equatable, Sendable {
    public let start: Int
    public let end: Int
    public let step: Int
    /// Written `a...b`: shown that way again.
    public let closed: Bool

    /// Bounds must be whole numbers with |x| ≤ 2^53 and `step` non-zero (the caller checks).
    public init(start: Int, end: Int, step: Int = 1, closed: Bool = false) {
        precondition(step != 0)
        self.start = start
        self.end = end
        self.step = step
        self.closed = closed
    }

    public var count: Int {
        let span = step > 0 ? end - start : start - end
        let stride = abs(step)
        return span <= 0 ? 0 : (span + stride - 1) / stride
    }

    public func element(_ i: Int) -> Int { start + i * step }

    public var elements: LazyMapSequence<Range<Int>, Int> { (0..<count).lazy.map(element) }

    /// `0..<4`, `1...3`, `range(0, 10, 2)`.
    public var description: String {
        if step != 1 { return "range(\(start), \(end), \(step))" }
        return closed ? "\(start)...\(end - 1)" : "\(start)..<\(end)"
    }
}

/// An engine value: a model, a token list, a generation, a table… Each type lists its
/// attributes once (`attributes`), which serves lookup, completion and help alike.
public protocol ScriptObject: AnyObject {
    /// The type's name in the language ("model", "tokens").
    static var typeName: String { get }
    /// One line on what the type is, for help.
    static var summary: String { get }
    static var attributes: [Attribute<Self>] { get }
    /// The MIME bundle the front ends show: `text/plain` always.
    func display() -> MIMEBundle
    /// A short one-line form for lists, tables and `vars()`: "<model smollm2-135m>".
    var brief: String { get }
    /// Element count for `len` and `x[i]`; nil when the type has no elements.
    var length: Int? { get }
    /// Element `i` (already checked to be in 0..<length).
    func element(at i: Int) -> Value
    /// Attributes that differ per instance (a table's columns, a record's fields), after the
    /// type's own.
    var instanceAttributeNames: [String] { get }
    func instanceAttribute(_ name: String) -> Value?
}

extension ScriptObject {
    public var typeName: String { Self.typeName }
    public var length: Int? { nil }
    public func element(at i: Int) -> Value { .none }
    public var instanceAttributeNames: [String] { [] }
    public func instanceAttribute(_ name: String) -> Value? { nil }

    /// Names of the attributes, in table order.
    public var attributeNames: [String] { Self.attributes.map(\.name) + instanceAttributeNames }

    /// The documentation of each attribute: (name, help).
    public var attributeHelp: [(name: String, help: String)] { Self.attributes.map { ($0.name, $0.help) } }

    /// The value of attribute `name`, nil when the type has none by that name.
    public func attribute(_ name: String) throws -> Value? {
        guard let found = Self.attributes.first(where: { $0.name == name }) else { return instanceAttribute(name) }
        return try found.get(self)
    }
}

/// One attribute of an engine type: its name, what it means, and how to read it.
public struct Attribute<Object> {
    public let name: String
    public let help: String
    let get: (Object) throws -> Value

    public init(_ name: String, _ help: String, _ get: @escaping (Object) throws -> Value) {
        self.name = name
        self.help = help
        self.get = get
    }
}

// Swift values into language values, for attribute tables and builtins.
extension Value {
    init(_ n: Int) { self = .number(Double(n)) }
    init(_ x: Float) { self = .number(Double(x)) }
    init(_ x: Double) { self = .number(x) }
    init(_ s: String) { self = .string(s) }
    init(_ b: Bool) { self = .bool(b) }
    init(_ ints: [Int]) { self = .list(ints.map { Value($0) }) }
    init(_ strings: [String]) { self = .list(strings.map { Value($0) }) }
    init(_ optional: String?) { self = optional.map { .string($0) } ?? .none }
    init(_ optional: Int?) { self = optional.map { Value($0) } ?? .none }
}
