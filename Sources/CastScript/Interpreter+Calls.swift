extension Interpreter {
    /// Evaluates a call: the callee must be a builtin; its arguments are bound to the
    /// parameters by position, then by name, and checked against their types before the
    /// body runs. An engine error comes back located at the call.
    func call(_ e: Expr) throws -> Value {
        guard case .call(_, let arguments, _) = e.kind else { preconditionFailure("not a call") }
        let range = e.range, site = e.callSite
        let builtin: Builtin
        if let cached = site?.builtin(for: self) {
            builtin = cached
        } else {
            guard case .call(let calleeExpression, _, _) = e.kind else { preconditionFailure("not a call") }
            let callee = try evaluate(calleeExpression)
            guard case .builtin(let found) = callee else {
                throw ScriptError(.type, "\(callee.typeWithArticle) cannot be called", at: calleeExpression.range)
            }
            builtin = found
            // Only a name that found the builtin itself, not a variable holding one (`f = len`),
            // which an assignment can change without replacing `cacheOwner`.
            if let site, case .name(let name) = calleeExpression.kind, variables[name] == nil {
                site.remember(builtin, for: self)
            }
        }
        var call = try bind(builtin, arguments, range)
        do {
            return try builtin.body(&call)
        } catch let error as ScriptError {
            throw error
        } catch {
            throw ScriptError(.engine, "\(builtin.name): \(Self.describe(error))", at: range)
        }
    }

    /// An engine error's message: its description when it has one.
    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }

    private func bind(_ builtin: Builtin, _ arguments: [CallArgument], _ range: SourceRange) throws -> Call {
        // The slots start with the defaults; `given` has a bit for each one an argument filled.
        var call = Call(builtin: builtin, interpreter: self, range: range)
        var given: UInt64 = 0
        let parameters = builtin.parameters
        var next = 0
        for i in arguments.indices {   // by index: iterating copies each argument's syntax
            let value = try evaluate(arguments[i].value)
            if let label = arguments[i].label {
                let argument = arguments[i]
                let labelRange = argument.labelRange ?? argument.value.range
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
                try check(value, against: parameter, of: builtin, at: argument.value.range)
                call.slots[slot] = Call.Slot(value: value, range: argument.value.range)
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
        // The first parameter, in order, that needs an argument and got none.
        let missing = builtin.requiredSlots & ~given
        if missing != 0 {
            let parameter = parameters[missing.trailingZeroBitCount]
            throw ScriptError(.type, "\(builtin.name): missing argument '\(parameter.name)' (\(builtin.signature))", at: range)
        }
        return call
    }

    private func check(_ value: Value, against parameter: Parameter, of builtin: Builtin, at range: SourceRange) throws {
        guard !parameter.type.accepts(value) else { return }
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
