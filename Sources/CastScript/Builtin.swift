/// The kinds of value a parameter accepts, by the name messages and docs use.
public struct ParameterType: Sendable {
    public let name: String
    let accepts: @Sendable (Value) -> Bool
    /// For a type of engine values (`object`, or `either` of such types): the classes it
    /// accepts, which binding compares before calling `accepts` (a closure call, and for
    /// `either` one per type, cost more than the comparison).
    let classes: [ObjectIdentifier]

    public init(_ name: String, accepts: @escaping @Sendable (Value) -> Bool) {
        self.init(name, classes: [], accepts: accepts)
    }

    init(_ name: String, classes: [ObjectIdentifier], accepts: @escaping @Sendable (Value) -> Bool) {
        self.name = name
        self.classes = classes
        self.accepts = accepts
    }

    /// Whether a value of this type may be given: by its class when that is one of `classes`,
    /// else as `accepts` says.
    func admits(_ value: Value) -> Bool {
        if case .object(let o) = value, classes.contains(ObjectIdentifier(Swift.type(of: o))) { return true }
        return accepts(value)
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
        // By name: type names are unique, and a metatype cannot go into a Sendable closure. Its
        // identifier can, and comparing it first spares the common case reading the name.
        let name = T.typeName, identifier = ObjectIdentifier(T.self)
        return ParameterType(name, classes: [identifier]) { value in
            guard case .object(let o) = value else { return false }
            return ObjectIdentifier(Swift.type(of: o)) == identifier || o.typeName == name
        }
    }

    /// Values any of `types` accepts: "model or tokenizer".
    public static func either(_ types: ParameterType...) -> ParameterType {
        ParameterType(types.map(\.name).joined(separator: " or "), classes: types.flatMap(\.classes)) { value in
            types.contains { $0.accepts(value) }
        }
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

/// One parameter of a builtin (a class: binding a call reads it without copying its fields).
public final class Parameter {
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
/// A class, so a value holding one (`.builtin`) or a call of one copies a reference, not
/// eight fields.
public final class Builtin {
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
    /// The parameters' names, by slot: what `Call.value(_:)` searches (a few short strings,
    /// cheaper to scan than to hash).
    let parameterNames: [String]
    /// The same names' bits (`slot(_:)`).
    private let parameterBits: [Bits]
    /// What a call's slots hold before its arguments are bound: the defaults.
    let initialSlots: [Call.Slot]
    /// The slots a call must fill (no default, not variadic), one bit each.
    let requiredSlots: UInt64
    /// How many parameters come before the first variadic one: a call with at most this many
    /// arguments, all positional, fills slots 0, 1, … in order (`Interpreter.bindPositional`).
    let leadingFixed: Int

    public init(_ name: String, _ parameters: [Parameter], returns: String, help: String, example: String,
                usesEngine: Bool = false, body: @escaping (inout Call) throws -> Value) {
        self.name = name
        self.parameters = parameters
        self.returns = returns
        self.help = help
        self.example = example
        self.usesEngine = usesEngine
        self.body = body
        // Binding tracks the parameters it was given in the bits of a UInt64.
        precondition(parameters.count <= 64, "\(name) has more than 64 parameters")
        parameterNames = parameters.map(\.name)
        parameterBits = parameterNames.map(Self.bits)
        initialSlots = parameters.map { Call.Slot(value: $0.variadic ? .none : $0.defaultValue ?? .none) }
        requiredSlots = parameters.enumerated().reduce(0) { mask, p in
            p.element.defaultValue == nil && !p.element.variadic ? mask | 1 << p.offset : mask
        }
        leadingFixed = parameters.firstIndex(where: \.variadic) ?? parameters.count
    }

    /// The slot of parameter `name` (its index in `parameters`), nil when it has none. Lengths
    /// first: comparing two different short strings costs more than comparing their lengths.
    func slot(_ name: String) -> Int? {
        // A body asks for its arguments by names of up to 15 ASCII bytes, stored in the
        // string itself: the same name has the same bits, and comparing those costs less
        // than comparing strings. Different bits may still be the same name (a long one, or
        // one built at run time), which the comparison below finds.
        let bits = Self.bits(name)
        if let i = parameterBits.firstIndex(where: { $0 == bits }) { return i }
        let length = name.utf8.count
        return parameterNames.firstIndex { $0.utf8.count == length && $0 == name }
    }

    /// The 16 bytes a string is made of: its text when it is short, else a reference to it.
    private static func bits(_ name: String) -> Bits {
        let raw = unsafeBitCast(name, to: (UInt64, UInt64).self)
        return Bits(low: raw.0, high: raw.1)
    }

    struct Bits: Equatable {
        let low, high: UInt64
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
    /// One per parameter, in the order of `builtin.parameters`: kept by slot rather than in
    /// dictionaries by name, which cost more to build than a short call does. Written only
    /// while the call is bound.
    var slots: ArgumentSlots
    /// The arguments a variadic parameter collected.
    public var rest: [Value] = []

    /// A parameter's argument (its default when it was not given; `none` for a variadic one)
    /// and where it was written (nil when it was not).
    struct Slot {
        var value: Value = .none
        var range: SourceRange?
    }

    /// `slots` hold `builtin`'s defaults.
    init(builtin: Builtin, interpreter: Interpreter, range: SourceRange, slots: ArgumentSlots) {
        self.builtin = builtin
        self.interpreter = interpreter
        self.range = range
        self.slots = slots
    }

    /// The argument for parameter `name` (its default when it was not given).
    public func value(_ name: String) -> Value { builtin.slot(name).map { slots.value($0) } ?? .none }

    /// Where each argument was written, by parameter name: `call.ranges["layers"] != nil`
    /// says whether it was given.
    var ranges: ArgumentRanges { ArgumentRanges(builtin: builtin, slots: slots) }

    struct ArgumentRanges {
        let builtin: Builtin
        let slots: ArgumentSlots
        subscript(_ name: String) -> SourceRange? { builtin.slot(name).flatMap { slots[$0].range } }
    }

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
        guard case .object(let o) = value(name) else { return nil }
        // The exact type is the common case, and comparing it costs less than a dynamic cast.
        if ObjectIdentifier(Swift.type(of: o)) == ObjectIdentifier(T.self) { return unsafeDowncast(o, to: T.self) }
        return o as? T
    }
}

/// A call's arguments, one slot per parameter of the builtin in its header. A buffer class of
/// its own: an `Array` of slots looked its element type up in the runtime's metadata cache on
/// every call.
final class ArgumentSlots: ManagedBuffer<Builtin, Call.Slot> {
    /// Slots holding `builtin`'s defaults.
    static func make(for builtin: Builtin) -> ArgumentSlots {
        let initial = builtin.initialSlots
        let buffer = unsafeDowncast(create(minimumCapacity: initial.count) { _ in builtin }, to: ArgumentSlots.self)
        buffer.withUnsafeMutablePointerToElements { slots in
            initial.withUnsafeBufferPointer { if let start = $0.baseAddress { slots.initialize(from: start, count: initial.count) } }
        }
        return buffer
    }

    deinit {
        _ = withUnsafeMutablePointers { builtin, slots in slots.deinitialize(count: builtin.pointee.initialSlots.count) }
    }

    /// Whose parameters the slots are (through the pointers: reading `header` as a property
    /// costs an exclusivity check).
    var builtin: Builtin { withUnsafeMutablePointers { builtin, _ in builtin.pointee } }

    /// Puts the defaults back in the slots `given` has a bit for, for the next call of the
    /// same builtin (the others still hold theirs).
    func reset(_ given: UInt64) {
        withUnsafeMutablePointers { builtin, slots in
            let required = builtin.pointee.requiredSlots
            builtin.pointee.initialSlots.withUnsafeBufferPointer { initial in
                var rest = given
                while rest != 0 {
                    let i = rest.trailingZeroBitCount
                    precondition(i < initial.count)
                    // A required slot's default is `none`: storing it copies nothing.
                    slots[i] = required & 1 << i != 0 ? Call.Slot() : initial[i]
                    rest &= rest - 1
                }
            }
        }
    }

    subscript(_ i: Int) -> Call.Slot {
        get {
            withUnsafeMutablePointers { builtin, slots in
                precondition(i >= 0 && i < builtin.pointee.initialSlots.count)
                return slots[i]
            }
        }
        set {
            withUnsafeMutablePointers { builtin, slots in
                precondition(i >= 0 && i < builtin.pointee.initialSlots.count)
                slots[i] = newValue
            }
        }
    }

    /// Slot `i`'s value alone (copying the whole slot would copy its range too).
    func value(_ i: Int) -> Value {
        withUnsafeMutablePointers { builtin, slots in
            precondition(i >= 0 && i < builtin.pointee.initialSlots.count)
            return slots[i].value
        }
    }
}
