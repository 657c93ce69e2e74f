extension Interpreter {
    /// Evaluates a call: the callee must be a builtin; its arguments are bound to the
    /// parameters by position, then by name, and checked against their types before the
    /// body runs. An engine error comes back located at the call.
    func call(_ calleeExpression: Expr, _ arguments: [CallArgument], _ range: SourceRange) throws -> Value {
        let callee = try evaluate(calleeExpression)
        guard case .builtin(let builtin) = callee else {
            throw ScriptError(.type, "\(callee.typeWithArticle) cannot be called", at: calleeExpression.range)
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
        var call = Call(builtin: builtin, interpreter: self, range: range, values: [:], ranges: [:])
        let parameters = builtin.parameters
        var next = 0
        for argument in arguments {
            let value = try evaluate(argument.value)
            if let label = argument.label {
                let labelRange = argument.labelRange ?? argument.value.range
                guard let parameter = parameters.first(where: { $0.name == label }) else {
                    throw unknownKeyword(label, of: builtin, at: labelRange)
                }
                if parameter.variadic {
                    throw ScriptError(.name, "\(builtin.name): '\(label)' collects positional arguments and cannot be given by name",
                                      at: labelRange)
                }
                if call.values[label] != nil {
                    throw ScriptError(.name, "\(builtin.name): argument '\(label)' is given twice (once by position)", at: labelRange)
                }
                try check(value, against: parameter, of: builtin, at: argument.value.range)
                call.values[label] = value
                call.ranges[label] = argument.value.range
                continue
            }
            guard next < parameters.count else {
                let names = parameters.map(\.name).joined(separator: ", ")
                throw ScriptError(.type, "\(builtin.name) takes \(Self.count(parameters.count, "argument")) (\(names)), "
                                  + "got \(arguments.filter { $0.label == nil }.count)", at: argument.value.range)
            }
            let parameter = parameters[next]
            try check(value, against: parameter, of: builtin, at: argument.value.range)
            if parameter.variadic {
                call.rest.append(value)
            } else {
                call.values[parameter.name] = value
                call.ranges[parameter.name] = argument.value.range
                next += 1
            }
        }
        for parameter in parameters where call.values[parameter.name] == nil && !parameter.variadic {
            guard let defaultValue = parameter.defaultValue else {
                throw ScriptError(.type, "\(builtin.name): missing argument '\(parameter.name)' (\(builtin.signature))", at: range)
            }
            call.values[parameter.name] = defaultValue
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
