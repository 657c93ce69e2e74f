extension Interpreter {
    /// Evaluates a call: the callee must be a builtin; its arguments are bound to the
    /// parameters by position, then by name, and checked against their types before the
    /// body runs. An engine error comes back located at the call.
    func call(_ e: Expr) throws -> Value {
        // Every call node has a site (`Expr.init`); the call is read from there.
        guard let site = e.callSite else { preconditionFailure("a call without its site") }
        return try call(site)
    }

    /// Evaluates the call `site` belongs to, as `call(_:)` does.
    func call(_ site: CallSite) throws -> Value {
        let builtin = try site.builtin(for: self) ?? callee(of: site)
        var call = Call(builtin: builtin, interpreter: self, range: site.range, slots: site.takeSlots(for: builtin))
        let given = try bind(&call, site)
        let result: Value
        do {
            result = try builtin.body(&call)
        } catch {
            throw Self.located(error, of: builtin, at: site.range)
        }
        site.giveBack(&call.slots, given: given)
        return result
    }

    /// A script error as it is; an engine error as a script error located at the call. Out of
    /// line, as the interpreter's other error paths: the frames between a script and the
    /// engine call it makes stay small (see `Interpreter.assign`).
    @inline(never)
    private static func located(_ error: any Error, of builtin: Builtin, at range: SourceRange) -> ScriptError {
        if let error = error as? ScriptError { return error }
        return ScriptError(.engine, "\(builtin.name): \(describe(error))", at: range)
    }

    /// The builtin a call's callee evaluates to, remembered on its site when the callee is a
    /// builtin's own name. Out of line: a call whose site remembers its builtin skips it.
    @inline(never)
    private func callee(of site: CallSite) throws -> Builtin {
        let calleeExpression = site.callee
        // Only a name that finds the builtin itself, not a variable holding one (`f = len`),
        // which an assignment can change without replacing `cacheOwner`. Looked up here, as
        // evaluating the name would, so that each table is searched at most once (the
        // variables not at all while none has a builtin's name).
        if case .name(let name) = calleeExpression.kind, let builtin = builtins[name],
           !variableShadowsBuiltin || variable(name) == nil {
            site.remember(builtin, for: self)
            return builtin
        }
        let callee = try evaluate(calleeExpression)
        guard case .builtin(let builtin) = callee else {
            throw ScriptError(.type, "\(callee.typeWithArticle) cannot be called", at: calleeExpression.range)
        }
        return builtin
    }

    /// An engine error's message: its description when it has one.
    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }

    /// Binds the site's arguments to the parameters of `call.builtin`: its slots start with the
    /// defaults. Returns a bit for each slot an argument filled.
    private func bind(_ call: inout Call, _ site: CallSite) throws -> UInt64 {
        let builtin = call.builtin
        if site.allPositional, site.arguments.count <= builtin.leadingFixed {
            return try bindPositional(&call, site)
        }
        var given: UInt64 = 0
        let parameters = builtin.parameters
        var next = 0
        // Through a buffer pointer: indexing the array copies each argument's syntax.
        try site.arguments.withUnsafeBufferPointer { arguments in
            for i in arguments.indices {
                let value = try value(of: arguments[i].operand) ?? evaluate(arguments[i].value)
                if let label = arguments[i].label {
                    let labelRange = arguments[i].labelRange ?? arguments[i].value.range
                    guard let slot = builtin.slot(label) else {
                        throw unknownKeyword(label, of: builtin, at: labelRange)
                    }
                    let parameter = parameters[slot]
                    if parameter.variadic {
                        throw ScriptError(.name, "\(builtin.name): '\(label)' collects positional arguments and cannot be given by name",
                                          at: labelRange)
                    }
                    if given & 1 << slot != 0 {
                        throw ScriptError(.name, "\(builtin.name): argument '\(label)' is given twice (once by position)", at: labelRange)
                    }
                    try check(value, against: parameter, of: builtin, at: arguments[i].value.range)
                    call.slots[slot] = Call.Slot(value: value, range: arguments[i].value.range)
                    given |= 1 << slot
                    continue
                }
                guard next < parameters.count else {
                    let names = parameters.map(\.name).joined(separator: ", ")
                    throw ScriptError(.type, "\(builtin.name) takes \(Self.count(parameters.count, "argument")) (\(names)), "
                                      + "got \(arguments.filter { $0.label == nil }.count)", at: arguments[i].value.range)
                }
                let parameter = parameters[next]
                let range = arguments[i].value.range
                try check(value, against: parameter, of: builtin, at: range)
                if parameter.variadic {
                    call.rest.append(value)
                } else {
                    call.slots[next] = Call.Slot(value: value, range: range)
                    given |= 1 << next
                    next += 1
                }
            }
        }
        try checkRequired(given, of: builtin, at: call.range)
        return given
    }

    /// `bind` for the common call: positional arguments only, no more of them than the
    /// parameters before any variadic one, so argument i fills slot i. What it checks, and the
    /// order it checks in, are `bind`'s; it skips the labels, the count and the variadic tests.
    private func bindPositional(_ call: inout Call, _ site: CallSite) throws -> UInt64 {
        let builtin = call.builtin
        let count = site.arguments.count
        try site.arguments.withUnsafeBufferPointer { arguments in
            try builtin.parameters.withUnsafeBufferPointer { parameters in
                for i in 0..<count {
                    let value = try value(of: arguments[i].operand) ?? evaluate(arguments[i].value)
                    let range = arguments[i].value.range
                    try check(value, against: parameters[i], of: builtin, at: range)
                    call.slots[i] = Call.Slot(value: value, range: range)
                }
            }
        }
        // A bit for each of slots 0..<count (count <= 64: shifting 1 by 64 gives 0, less 1 all bits).
        let given: UInt64 = (1 << count) &- 1
        try checkRequired(given, of: builtin, at: call.range)
        return given
    }

    /// Throws for the first parameter, in order, that needs an argument and got none.
    private func checkRequired(_ given: UInt64, of builtin: Builtin, at range: SourceRange) throws {
        let missing = builtin.requiredSlots & ~given
        if missing != 0 {
            let parameter = builtin.parameters[missing.trailingZeroBitCount]
            throw ScriptError(.type, "\(builtin.name): missing argument '\(parameter.name)' (\(builtin.signature))", at: range)
        }
    }

    /// An argument's value without evaluating its syntax: a literal's, made at parse time, or
    /// a variable's, from the slot its name remembers; nil for anything else (and a name that
    /// is no variable), which the tree is evaluated for.
    private func value(of operand: CallSite.Operand) -> Value? {
        switch operand {
        case .constant(let value): value
        case .name(let name): name.value(in: self)
        case .expression: nil
        }
    }

    private func check(_ value: Value, against parameter: Parameter, of builtin: Builtin, at range: SourceRange) throws {
        guard !parameter.type.admits(value) else { return }
        let what = parameter.variadic ? "each of '\(parameter.name)'" : "'\(parameter.name)'"
        throw ScriptError(.type, "\(builtin.name): \(what) must be \(Value.withArticle(parameter.type.name)), "
                          + "got \(value.typeWithArticle)\(Self.shown(value))", at: range)
    }

    /// " (3)" after a plain value in a message, nothing after an engine value.
    private static func shown(_ value: Value) -> String {
        switch value {
        case .number, .string, .bool, .range: " (\(value.written(limit: 40)))"
        default: ""
        }
    }

    private func unknownKeyword(_ label: String, of builtin: Builtin, at range: SourceRange) -> ScriptError {
        let names = builtin.parameters.filter { !$0.variadic }.map(\.name)
        var hint = Suggestions.hint(for: label, among: names)
        if hint.isEmpty {
            hint = names.isEmpty ? " (it takes no keyword arguments)" : " (its parameters: \(names.joined(separator: ", ")))"
        }
        return ScriptError(.name, "\(builtin.name) has no parameter '\(label)'\(hint)", at: range)
    }

    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}
