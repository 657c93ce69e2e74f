/// A call node's callee, arguments and source, read from here so that evaluating them copies
/// no syntax (taking them out of the node's enum case would), and what one interpreter
/// remembers of the call:
/// the builtin its name resolved to (while no variable shadows a builtin's name:
/// `Interpreter.cacheOwner` is replaced when one does), and a buffer of argument slots to
/// bind the next call into. Written without a lock: a syntax tree is evaluated by one
/// interpreter at a time (only `Interpreter.Prepared`, which is not Sendable, keeps one past
/// the run that parsed it).
final class CallSite: @unchecked Sendable {
    /// Evaluated when the site remembers no builtin for the interpreter.
    let callee: Expr
    let arguments: [CallArgument]
    /// The whole call expression.
    let range: SourceRange
    /// Whether every argument is positional, so binding may fill slots in order
    /// (`Interpreter.bindPositional`).
    let allPositional: Bool
    // Unchecked: a dynamic exclusivity check on each read cost more than the rest of the read.
    @exclusivity(unchecked) private var owner: Interpreter.CacheOwner?
    @exclusivity(unchecked) private var builtin: Builtin?
    @exclusivity(unchecked) private var spareSlots: ArgumentSlots?

    /// An argument as evaluating it needs it: a literal's value, made once; a name, whose
    /// variable slot it remembers; or any other expression, evaluated as the tree says. Kept
    /// on the argument itself (`CallArgument.operand`). Unchecked Sendable as the site is:
    /// a literal's value is plain, and a name's slot is written by one interpreter at a time.
    enum Operand: @unchecked Sendable {
        case constant(Value)
        case name(NameReference)
        case expression

        init(_ e: Expr) {
            switch e.kind {
            case .number(let x): self = .constant(.number(x))
            case .string(let s): self = .constant(.string(s))
            case .bool(let b): self = .constant(.bool(b))
            case .none: self = .constant(.none)
            case .name(let name): self = .name(NameReference(name))
            default: self = .expression
            }
        }
    }

    init(callee: Expr, arguments: [CallArgument], range: SourceRange) {
        self.callee = callee
        self.arguments = arguments
        self.range = range
        allPositional = arguments.allSatisfy { $0.label == nil }
    }

    /// The builtin remembered for `interpreter`, nil when none is or it may be stale.
    func builtin(for interpreter: Interpreter) -> Builtin? {
        owner === interpreter.cacheOwner ? builtin : nil
    }

    func remember(_ builtin: Builtin, for interpreter: Interpreter) {
        owner = interpreter.cacheOwner
        self.builtin = builtin
    }

    /// Slots for a call of `builtin`, holding its defaults: the buffer the last call gave
    /// back when it was for the same builtin, else a new one. Reusing it spares an allocation
    /// per call.
    func takeSlots(for builtin: Builtin) -> ArgumentSlots {
        if let slots = spareSlots, slots.builtin === builtin {
            spareSlots = nil
            return slots
        }
        return ArgumentSlots.make(for: builtin)
    }

    /// Keeps `slots` for the next call, the slots in `given` back at their defaults (which
    /// also lets go of the arguments), unless something else holds the buffer (a builtin
    /// that kept its `Call`).
    func giveBack(_ slots: inout ArgumentSlots, given: UInt64) {
        guard isKnownUniquelyReferenced(&slots) else { return }
        slots.reset(given)
        spareSlots = slots
    }
}

/// A name among a call's arguments, and the variable slot it found in one interpreter
/// (`Interpreter.slotOwner`): a variable keeps its slot for the interpreter's life.
final class NameReference: @unchecked Sendable {
    let name: String
    @exclusivity(unchecked) private var owner: Interpreter.CacheOwner?
    @exclusivity(unchecked) private var slot = 0

    init(_ name: String) {
        self.name = name
    }

    /// The variable's value in `interpreter`, nil when the name is not a variable there
    /// (a builtin's name, or unknown: the caller looks it up as any name).
    func value(in interpreter: Interpreter) -> Value? {
        if owner === interpreter.slotOwner { return interpreter.value(inSlot: slot) }
        guard let found = interpreter.slot(of: name) else { return nil }
        owner = interpreter.slotOwner
        slot = found
        return interpreter.value(inSlot: found)
    }
}
