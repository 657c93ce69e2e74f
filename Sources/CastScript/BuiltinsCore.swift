/// The builtins about the language itself: help, variables, printing, lengths, ranges,
/// conversions. None of them touches a model or a file.
enum CoreBuiltins {
    static var all: [Builtin] { [help, vars, print, len, range, str, type] + FrontEndBuiltins.all }

    static let hasLength = ParameterType("string, list, range, tokens, logits or table") { $0.length != nil }

    static var help: Builtin {
        Builtin("help", [Parameter("topic", .any, default: Value.none,
                                   help: "A builtin (help(generate)), its name as a string, a type name (\"model\"), or any value (its type's attributes).")],
                returns: "text",
                help: "Shows documentation. With no argument, lists every builtin with a one-line summary; with a builtin, "
                    + "its signature, defaults, parameters and an example; with a value or a type name, what the type is "
                    + "and its attributes. The same text makes up docs/language.md.",
                example: "help()\nhelp(generate)\nhelp(\"tokens\")") { call in
            .object(TextValue(try Documentation.help(for: call.value("topic"), in: call.interpreter, at: call.location("topic"))))
        }
    }

    static var vars: Builtin {
        Builtin("vars", [], returns: "table",
                help: "Lists the variables of the session, in the order they were first assigned, with their type and value.",
                example: "x = 3\nvars()") { call in
            let interpreter = call.interpreter
            let rows = interpreter.variableOrder.map { name -> [Value] in
                let value = interpreter.variable(name) ?? .none
                return [.string(name), .string(value.typeName), .string(value.written(limit: 60))]
            }
            return .object(TableValue(columns: ["name", "type", "value"], rows: rows))
        }
    }

    static var print: Builtin {
        Builtin("print", [Parameter("values", .any, variadic: true, help: "What to print: strings as they are, other values as written."),
                          Parameter("separator", .string, default: .string(" "), help: "Put between the values.")],
                returns: "none",
                help: "Writes its arguments on one line to the output (stdout for cast run, the cell's output in a notebook). "
                    + "Strings are printed without quotes.",
                example: "print(\"layers:\", m.layers)") { call in
            let line = call.rest.map { $0.printed() }.joined(separator: call.string("separator"))
            call.interpreter.output(line + "\n")
            return .none
        }
    }

    static var len: Builtin {
        Builtin("len", [Parameter("value", hasLength)], returns: "number",
                help: "The number of elements: characters of a string, items of a list or range, tokens of a token list, rows of a table.",
                example: "len(tokenize(m, \"Hello world\"))") { call in
            Value(call.value("value").length ?? 0)
        }
    }

    static var range: Builtin {
        Builtin("range", [Parameter("start", .integer, help: "The first number, or the end when it is the only argument."),
                          Parameter("end", .optional(.integer), default: Value.none, help: "Where the range stops (not included)."),
                          Parameter("step", .integer, default: Value(1), help: "The difference between neighbours; negative counts down.")],
                returns: "range",
                help: "Whole numbers from start up to (not including) end, step apart: range(4) is 0..<4, range(0, 10, 2) is "
                    + "0, 2, 4, 6, 8. Ranges are lazy, so range(1e12) costs nothing until it is listed.",
                example: "range(4)\nrange(10, 0, -2)") { call in
            let step = try call.integer("step")
            guard step != 0 else { throw call.error("step", "'step' must not be 0") }
            let first = try call.integer("start")
            if case .none = call.value("end") { return .range(RangeValue(start: 0, end: first, step: step)) }
            return .range(RangeValue(start: first, end: try call.integer("end"), step: step))
        }
    }

    static var str: Builtin {
        Builtin("str", [Parameter("value", .any)], returns: "string",
                help: "The value as text: a string unchanged, anything else as it is written (numbers, lists, ranges) "
                    + "or as a short description (models, tables).",
                example: "\"layers: \" + str(m.layers)") { call in
            .string(call.value("value").printed())
        }
    }

    static var type: Builtin {
        Builtin("type", [Parameter("value", .any)], returns: "string",
                help: "The name of the value's type: number, string, bool, none, list, range, builtin, or an engine type "
                    + "(model, tokenizer, tokens, generation, logits, table, record, text).",
                example: "type(m)") { call in
            .string(call.value("value").typeName)
        }
    }
}
