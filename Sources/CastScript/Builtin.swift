/// The kinds of value a parameter accepts, by the name messages and docs use.
public struct ParameterType: Sendable {
    public let name: String
    let accepts: @Sendable (Value) -> Bool

    public init(_ name: String, accepts: @escaping @Sendable (Value) -> Bool) {
        self.name = name
        self.accepts = accepts
    }

    public static let any = ParameterType("any value") { _ in true }
    public static let number = ParameterType("number") { if case .number = $0 { true } else { false } }
    public static let integer = ParameterType("whole number") { $0.integer != nil }
    public static let string = ParameterType("string") { if case .string = $0 { true } else { false } }
    public static let bool = ParameterType("bool") { if case .bool = $0 { true } else { false } }
    public static let list = ParameterType("list") { if case .list = $0 { true } else { false } }
    public static let model = object(ModelValue.self)

    /// Values of engine type `T`.
    public static func object<T: ScriptObject>(_ type: T.Type) -> ParameterType {
        // By name: type names are unique, and a metatype cannot go into a Sendable closure.
        let name = T.typeName
        return ParameterType(name) { if case .object(let o) = $0 { o.typeName == name } else { false } }
    }

    /// Values any of `types` accepts: "model or tokenizer".
    public static func either(_ types: ParameterType...) -> ParameterType {
        ParameterType(types.map(\.name).joined(separator: " or ")) { value in types.contains { $0.accepts(value) } }
    }

    /// `none`, or what `type` accepts.
    public static func optional(_ type: ParameterType) -> ParameterType {
        ParameterType("\(type.name) or none") { if case .none = $0 { true } else { type.accepts($0) } }
    }

    /// A list whose elements `element` accepts: "list of strings".
    public static func list(of element: ParameterType, named name: String) -> ParameterType {
        ParameterType(name) { if case .list(let items) = $0 { items.allSatisfy(element.accepts) } else { false } }
    }
}

/// One parameter of a builtin.
public struct Parameter {
    public let name: String
    public let type: ParameterType
    /// nil: the argument is required.
    public let defaultValue: Value?
    /// Takes all remaining positional arguments (`print(a, b, c)`).
    public let variadic: Bool
    public let help: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: Value? = nil, variadic: Bool = false,
                help: String = "") {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.variadic = variadic
        self.help = help
    }

    /// `name`, `name: default` or `name...`, as signatures show it.
    public var signature: String {
        if variadic { return "\(name)..." }
        guard let defaultValue else { return name }
        return "\(name): \(defaultValue.written())"
    }
}

/// A function of the language: its signature, documentation and body. The registry
/// (`Builtins.all`) is the one source for calls, `help`, completion and docs/language.md.
public struct Builtin {
    public let name: String
    public let parameters: [Parameter]
    /// What it returns, as a type name ("tokens", "none").
    public let returns: String
    /// One paragraph on what it does.
    public let help: String
    /// A line or two of the language showing a typical call.
    public let example: String
    /// Whether it touches models or files (loading, tokenizing, generating): the fuzzer and
    /// sandboxes leave these out.
    public let usesEngine: Bool
    let body: (inout Call) throws -> Value

    public init(_ name: String, _ parameters: [Parameter], returns: String, help: String, example: String,
                usesEngine: Bool = false, body: @escaping (inout Call) throws -> Value) {
        self.name = name
        self.parameters = parameters
        self.returns = returns
        self.help = help
        self.example = example
        self.usesEngine = usesEngine
        self.body = body
    }

    /// `generate(model, prompt, max_tokens: 32, …) -> generation`.
    public var signature: String {
        "\(name)(\(parameters.map(\.signature).joined(separator: ", "))) -> \(returns)"
    }

    /// What `help(name)` shows: signature, paragraph, parameters, example.
    public var documentation: String {
        var lines = [signature, "", help]
        let documented = parameters.filter { !$0.help.isEmpty }
        if !documented.isEmpty {
            lines.append("")
            for p in documented { lines.append("  \(p.name) (\(p.type.name)): \(p.help)") }
        }
        lines += ["", "Example:"] + example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        return lines.joined(separator: "\n")
    }
}

/// A builtin's call in progress: its arguments bound to parameters (defaults filled in), the
/// interpreter, and where each argument was written, so errors point at the right one.
public struct Call {
    public let builtin: Builtin
    public let interpreter: Interpreter
    /// The whole call expression.
    public let range: SourceRange
    var values: [String: Value]
    var ranges: [String: SourceRange]
    /// The arguments a variadic parameter collected.
    public var rest: [Value] = []

    /// The argument for parameter `name` (its default when it was not given).
    public func value(_ name: String) -> Value { values[name] ?? .none }

    /// Where the argument for `name` was written (the call when it was left to its default).
    public func location(_ name: String) -> SourceRange { ranges[name] ?? range }

    /// An error about argument `name`, pointing at it.
    public func error(_ name: String, _ message: String, kind: ScriptError.Kind = .value) -> ScriptError {
        ScriptError(kind, "\(builtin.name): \(message)", at: location(name))
    }

    public func string(_ name: String) -> String {
        if case .string(let s) = value(name) { return s }
        return ""
    }

    public func optionalString(_ name: String) -> String? {
        if case .string(let s) = value(name) { return s }
        return nil
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let b) = value(name) { return b }
        return false
    }

    public func number(_ name: String) -> Double {
        if case .number(let x) = value(name) { return x }
        return 0
    }

    /// A whole-number argument within `bounds`, else an error naming the parameter.
    public func integer(_ name: String, in bounds: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let n = value(name).integer else {
            throw error(name, "'\(name)' must be a whole number, got \(value(name).written(limit: 40))", kind: .type)
        }
        guard bounds.contains(n) else {
            let limits = bounds.upperBound == Int.max ? "at least \(bounds.lowerBound)"
                : bounds.lowerBound == Int.min ? "at most \(bounds.upperBound)" : "between \(bounds.lowerBound) and \(bounds.upperBound)"
            throw error(name, "'\(name)' must be \(limits), got \(n)")
        }
        return n
    }

    public func object<T: ScriptObject>(_ name: String, as type: T.Type) -> T? {
        if case .object(let o) = value(name) { return o as? T }
        return nil
    }
}
