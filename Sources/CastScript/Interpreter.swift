import CastModels
import Foundation

/// Runs the cast language: one per session (a REPL, a notebook kernel, a `cast run`). Its
/// variables outlive every error: a failed statement changes nothing, and the statements
/// before it keep their effect.
public final class Interpreter {
    /// Variables by name, and the order they were first assigned in (for `vars()`).
    public var variables: [String: Value] {
        Dictionary(uniqueKeysWithValues: zip(variableOrder, values))
    }
    public private(set) var variableOrder: [String] = []
    /// A variable's value is kept in a slot, the index of its name in `variableOrder`: a
    /// variable is never removed, so a name's slot never changes, and a call node can remember
    /// it (`CallSite`) instead of hashing the name each time.
    // Unchecked: a dynamic exclusivity check on each read cost as much as the read.
    @exclusivity(unchecked) private var slots: [String: Int] = [:]
    @exclusivity(unchecked) private var values: [Value] = []
    /// Identifies this interpreter's slots to the call nodes that remember them.
    let slotOwner = CacheOwner()
    /// The builtins by name, and in registry order.
    public let builtins: [String: Builtin]
    public let builtinOrder: [String]
    /// Where `print` writes (stdout unless the front end says otherwise).
    public var output: (String) -> Void = { text in FileHandle.standardOutput.write(Data(text.utf8)) }
    /// Where long builtins report progress; nil shows nothing.
    public var progress: ProgressSink?
    /// How `input`, `display`, `page`, `warn` and `clear_output` reach the person (nil hooks: the terminal).
    public var frontEnd = FrontEndHooks()
    /// Polled by long builtins at step boundaries and between statements: true stops them,
    /// keeping what they have.
    public var isCancelled: () -> Bool = { false }
    /// How `load` reads a model (tests substitute a shared copy).
    public var loadModel: (_ nameOrPath: String, _ weights: QuantizedWeights, _ progress: FetchProgressHandler?) throws -> Transformer = {
        try Transformer.load($0, quantized: $1, progress: $2)
    }
    /// Models loaded in this session, by what `load` was given and how weights are held.
    var loadedModels: [String: ModelValue] = [:]
    /// Identifies this interpreter, and its names as they stand, to the caches on call nodes
    /// (`CallSite`): an object, so no other interpreter can be mistaken for this one, and
    /// replaced when a variable takes a builtin's name (only `set` can), which makes what
    /// the nodes remember stale.
    final class CacheOwner {}
    @exclusivity(unchecked) private(set) var cacheOwner = CacheOwner()
    /// Whether some variable has a builtin's name: until one does, a name the builtins have
    /// is no variable's, and looking a callee up needs one table, not two.
    @exclusivity(unchecked) private(set) var variableShadowsBuiltin = false

    /// Longest list and string an operator may build (the language has no loops, but
    /// `x = x + x` repeated still doubles).
    static let maximumListLength = 10_000_000
    static let maximumStringLength = 100_000_000

    /// - Parameters:
    ///   - arguments: the script's arguments, bound to the variable `args` (a list of strings).
    ///   - builtins: the functions the language offers (the fuzzer leaves out the engine's).
    public init(arguments: [String] = [], builtins: [Builtin] = Builtins.all) {
        var table: [String: Builtin] = [:]
        for b in builtins { table[b.name] = b }
        self.builtins = table
        builtinOrder = builtins.map(\.name)
        set("args", Value(arguments))
    }

    /// Binds `name` (creating it or replacing its value).
    public func set(_ name: String, _ value: Value) {
        if let slot = slots[name] {
            values[slot] = value
        } else {
            slots[name] = values.count
            values.append(value)
            variableOrder.append(name)
            if builtins[name] != nil {
                cacheOwner = CacheOwner()
                variableShadowsBuiltin = true
            }
        }
    }

    /// Runs every statement of `source` in order, handing the value of each expression
    /// statement that is not `none` to `show`. Throws the first error, located in `source`
    /// (under the name `file`); the statements before it keep their effect.
    public func run(_ source: String, file: String? = nil, show: (Value) -> Void = { _ in }) throws {
        do {
            let program = try Parser.parse(source)
            for (i, statement) in program.statements.enumerated() {
                if i > 0, isCancelled() {
                    throw ScriptError(.interrupted, "stopped here: the statements from this one on did not run",
                                      at: statement.range)
                }
                if let value = try execute(statement), !(value == .none) { show(value) }
            }
        } catch let error as ScriptError {
            throw error.locatedIn(source, file: file)
        }
    }

    /// Runs `source` and returns the value of its last statement when that is an expression
    /// (`none` otherwise).
    @discardableResult
    public func evaluate(_ source: String, file: String? = nil) throws -> Value {
        try evaluate(try prepare(source, file: file))
    }

    /// `source` parsed once, to evaluate many times: what a statement costs without lexing
    /// and parsing it again (as a loop's body would; the language has no loops, so only
    /// `cast bench language` uses it).
    @_spi(Benchmark) public struct Prepared {
        // Not Sendable: its syntax tree holds the call caches one interpreter writes.
        let source: String
        let file: String?
        let program: Program
    }

    /// Parses `source`; throws its syntax error, located in it.
    @_spi(Benchmark) public func prepare(_ source: String, file: String? = nil) throws -> Prepared {
        do {
            return Prepared(source: source, file: file, program: try Parser.parse(source))
        } catch let error as ScriptError {
            throw error.locatedIn(source, file: file)
        }
    }

    /// Runs a prepared source as `evaluate(_:file:)` runs the text.
    @_spi(Benchmark) @discardableResult
    public func evaluate(_ prepared: Prepared) throws -> Value {
        var last: Value = .none
        do {
            // Through a buffer pointer: iterating the array copies each statement. A call
            // statement goes straight to its site (see `Statement.callSite`).
            try prepared.program.statements.withUnsafeBufferPointer { statements in
                for i in statements.indices {
                    if let site = statements[i].callSite {
                        last = try call(site)
                    } else {
                        last = try execute(statements[i]) ?? .none
                    }
                }
            }
        } catch {
            throw Self.located(error, in: prepared)
        }
        return last
    }

    /// A script error located in the prepared source; any other error as it is. Out of line:
    /// the error's copy would take room in the frame of every evaluation.
    @inline(never)
    private static func located(_ error: any Error, in prepared: Prepared) -> any Error {
        guard let error = error as? ScriptError else { return error }
        return error.locatedIn(prepared.source, file: prepared.file)
    }

    /// The statement's value when it is an expression; nil for an assignment.
    @inline(never)
    func execute(_ statement: Statement) throws -> Value? {
        switch statement.kind {
        case .assignment(let name, let nameRange, let valueExpression):
            try assign(name, nameRange, valueExpression)
            return nil
        case .expression(let e):
            return try evaluate(e)
        }
    }

    // Out of line, as are the cases of `evaluate(_:)` other than literals, names and calls,
    // and the error paths: each frame between a script and the engine call it makes stays
    // small. With the stack they took, a tokenizer call made through the language ran
    // measurably slower than the same call from a shallow Swift stack (`cast bench language`).
    @inline(never)
    private func assign(_ name: String, _ nameRange: SourceRange, _ valueExpression: Expr) throws {
        if builtins[name] != nil {
            throw ScriptError(.name, "'\(name)' is a builtin and cannot be assigned to; choose another name",
                              at: nameRange)
        }
        set(name, try evaluate(valueExpression))
    }

    // MARK: expressions

    /// Literals, names and calls here; the other kinds out of line (`compound(_:)`), so that
    /// this frame, which every call's arguments pass through, stays small.
    func evaluate(_ e: Expr) throws -> Value {
        switch e.kind {
        case .number(let x): return .number(x)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .none: return .none
        case .name(let name): return try lookup(name, e.range)
        case .call: return try call(e)
        case .list, .unary, .binary, .range, .attribute, .index: return try compound(e)
        }
    }

    @inline(never)
    private func compound(_ e: Expr) throws -> Value {
        switch e.kind {
        case .list(let items): return .list(try items.map(evaluate))
        case .unary(let op, let operand): return try unary(op, operand, e.range)
        case .binary(let op, let left, let right): return try binary(op, left, right, e.range)
        case .range(let lower, let upper, let closed): return try range(lower, upper, closed: closed)
        case .attribute(let base, let name, let nameRange): return try attribute(of: try evaluate(base), name, nameRange)
        case .index(let base, let position): return try index(try evaluate(base), position)
        case .number, .string, .bool, .none, .name, .call: return try evaluate(e)
        }
    }

    /// The value of variable `name`, nil when there is none.
    func variable(_ name: String) -> Value? { slots[name].map { values[$0] } }

    /// The slot of variable `name`, nil when there is none.
    func slot(of name: String) -> Int? { slots[name] }

    /// The value in slot `slot` (from `slot(of:)`).
    func value(inSlot slot: Int) -> Value { values[slot] }

    /// Every name the session knows: variables first, then builtins.
    public var knownNames: [String] { variableOrder + builtinOrder }

    func lookup(_ name: String, _ range: SourceRange) throws -> Value {
        if let value = variable(name) { return value }
        if let builtin = builtins[name] { return .builtin(builtin) }
        throw unknownName(name, range)
    }

    @inline(never)
    private func unknownName(_ name: String, _ range: SourceRange) -> ScriptError {
        let keywords = Keyword.allCases.map(\.rawValue)
        var hint = Suggestions.hint(for: name, among: knownNames + keywords)
        if hint.isEmpty, Builtins.all.contains(where: { $0.name == name }) {
            hint = " (the builtin '\(name)' is not available here)"
        }
        return ScriptError(.name, "unknown name '\(name)'\(hint)", at: range)
    }

    private func unary(_ op: UnaryOperator, _ operand: Expr, _ range: SourceRange) throws -> Value {
        let value = try evaluate(operand)
        switch (op, value) {
        case (.negate, .number(let x)): return .number(-x)
        case (.not, .bool(let b)): return .bool(!b)
        case (.negate, _):
            throw ScriptError(.type, "'-' needs a number, got \(value.typeWithArticle)", at: operand.range)
        case (.not, _):
            throw ScriptError(.type, "'not' needs true or false, got \(value.typeWithArticle)", at: operand.range)
        }
    }

    private func binary(_ op: BinaryOperator, _ left: Expr, _ right: Expr, _ range: SourceRange) throws -> Value {
        let a = try evaluate(left)
        // `and` and `or` look at their right side only when they need it.
        if op == .and || op == .or {
            guard case .bool(let x) = a else {
                throw ScriptError(.type, "'\(op.rawValue)' needs true or false, got \(a.typeWithArticle)", at: left.range)
            }
            if op == .and && !x { return .bool(false) }
            if op == .or && x { return .bool(true) }
            let b = try evaluate(right)
            guard case .bool(let y) = b else {
                throw ScriptError(.type, "'\(op.rawValue)' needs true or false, got \(b.typeWithArticle)", at: right.range)
            }
            return .bool(y)
        }
        return try Operators.apply(op, a, try evaluate(right), left: left.range, right: right.range, whole: range)
    }

    private func range(_ lower: Expr, _ upper: Expr, closed: Bool) throws -> Value {
        let start = try boundary(lower), end = try boundary(upper)
        return .range(RangeValue(start: start, end: closed ? end + 1 : end, closed: closed))
    }

    private func boundary(_ e: Expr) throws -> Int {
        let value = try evaluate(e)
        guard let n = value.integer else {
            throw ScriptError(.type, "a range's bounds must be whole numbers, got \(value.written(limit: 40))", at: e.range)
        }
        return n
    }

    // MARK: attributes and indexing

    func attribute(of base: Value, _ name: String, _ range: SourceRange) throws -> Value {
        guard case .object(let object) = base else {
            let lengthHint = ["length", "len", "count", "size"].contains(name) && base.length != nil ? "; use len(…)" : ""
            throw ScriptError(.name, "\(base.typeWithArticle) has no attributes\(lengthHint)", at: range)
        }
        if let value = try object.attribute(name) { return value }
        let names = object.attributeNames
        var hint = Suggestions.hint(for: name, among: names)
        if hint.isEmpty, !names.isEmpty, names.count <= 24 { hint = " (it has: \(names.joined(separator: ", ")))" }
        throw ScriptError(.name, "\(object.typeName.withArticle) has no attribute '\(name)'\(hint)", at: range)
    }

    private func index(_ base: Value, _ position: Expr) throws -> Value {
        let key = try evaluate(position)
        guard let count = base.length else {
            throw ScriptError(.type, "\(base.typeWithArticle) has no elements to index", at: position.range)
        }
        if case .range(let r) = key {
            guard r.count == 0 || (r.element(0) >= 0 && r.element(0) < count && r.element(r.count - 1) >= 0
                                   && r.element(r.count - 1) < count) else {
                throw ScriptError(.value, "the range \(r.description) reaches outside \(base.typeWithArticle) of length \(count)",
                                  at: position.range)
            }
            guard r.count <= Self.maximumListLength else {
                throw ScriptError(.value, "the slice \(r.description) would hold more than \(Self.maximumListLength) elements",
                                  at: position.range)
            }
            if case .string(let s) = base {
                let characters = Array(s)
                return .string(String(r.elements.map { characters[$0] }))
            }
            return .list(r.elements.map { element(of: base, at: $0) })
        }
        guard let i = key.integer else {
            throw ScriptError(.type, "an index must be a whole number or a range, got \(key.written(limit: 40))",
                              at: position.range)
        }
        let resolved = i < 0 ? i + count : i
        guard resolved >= 0 && resolved < count else {
            throw ScriptError(.value, "index \(i) is out of range: \(base.typeWithArticle) of length \(count)"
                              + (count == 0 ? "" : " has indices 0…\(count - 1) (or -\(count)…-1 from the end)"),
                              at: position.range)
        }
        return element(of: base, at: resolved)
    }

    /// Element `i` of a value with a length (already checked).
    private func element(of base: Value, at i: Int) -> Value {
        switch base {
        case .list(let items): return items[i]
        case .string(let s): return .string(String(s[s.index(s.startIndex, offsetBy: i)]))
        case .range(let r): return Value(r.element(i))
        case .object(let o): return o.element(at: i)
        default: return .none
        }
    }
}

extension String {
    /// "a model", "an adapter".
    var withArticle: String { Value.withArticle(self) }
}
