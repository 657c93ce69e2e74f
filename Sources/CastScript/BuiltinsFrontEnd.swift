import Foundation

/// The builtins that talk to the person at the front end: input, display, page, warn,
/// clear_output, and html/svg values for a notebook to render.
enum FrontEndBuiltins {
    static var all: [Builtin] { [input, display, page, warn, clearOutput, html, svg] }

    static var input: Builtin {
        Builtin("input", [Parameter("prompt", .string, default: .string(""), help: "Shown before the answer is typed."),
                          Parameter("password", .bool, default: .bool(false), help: "Hide what is typed (a notebook shows dots).")],
                returns: "string",
                help: "Asks the person at the front end for a line of text and returns it (without the line break): the "
                    + "REPL and cast run read standard input, a notebook shows a text field under the cell.",
                example: "name = input(\"Model to load: \")",
                usesEngine: true) { call in
            let prompt = call.string("prompt")
            let interpreter = call.interpreter
            if let ask = interpreter.frontEnd.readInput {
                do { return .string(try ask(prompt, call.bool("password"))) } catch let error as ScriptError {
                    throw error
                } catch {
                    throw call.error("prompt", Interpreter.describe(error))
                }
            }
            guard let line = Interpreter.readStandardInput(prompt: prompt, output: interpreter.output) else {
                throw call.error("prompt", "the input ended before a line was typed")
            }
            return .string(line)
        }
    }

    static var display: Builtin {
        Builtin("display", [Parameter("values", .any, variadic: true, help: "What to show, each as its own output.")],
                returns: "none",
                help: "Shows values now, each as its own output, the way a cell shows its last value: tables as tables, "
                    + "plots as pictures in a notebook, text in a terminal. Useful in the middle of a cell.",
                example: "display(vars())") { call in
            for value in call.rest {
                if let show = call.interpreter.frontEnd.display {
                    show(value)
                } else {
                    call.interpreter.output(value.plainText + "\n")
                }
            }
            return .none
        }
    }

    static var page: Builtin {
        Builtin("page", [Parameter("value", .any, help: "What to show: a help page, a long text, a table.")],
                returns: "none",
                help: "Shows a value in the front end's pager instead of the cell's output: a notebook's help panel "
                    + "(Jupyter's page payload). A terminal prints it.",
                example: "page(help(train))") { call in
            // A string is paged as text, not as the language writes it (in quotes).
            var value = call.value("value")
            if case .string(let text) = value { value = .object(TextValue(text)) }
            if let show = call.interpreter.frontEnd.page {
                show(value)
            } else {
                call.interpreter.output(value.plainText + "\n")
            }
            return .none
        }
    }

    static var warn: Builtin {
        Builtin("warn", [Parameter("values", .any, variadic: true, help: "What to write: strings as they are, other values as written."),
                         Parameter("separator", .string, default: .string(" "), help: "Put between the values.")],
                returns: "none",
                help: "Writes its arguments on one line to the error output (stderr; a notebook shows it shaded as an error "
                    + "stream), like print.",
                example: "warn(\"loss went up:\", l.loss)") { call in
            let line = call.rest.map { $0.printed() }.joined(separator: call.string("separator")) + "\n"
            if let write = call.interpreter.frontEnd.writeError {
                write(line)
            } else {
                FileHandle.standardError.write(Data(line.utf8))
            }
            return .none
        }
    }

    static var clearOutput: Builtin {
        Builtin("clear_output", [Parameter("wait", .bool, default: .bool(false),
                                           help: "Clear only when new output arrives (no flicker when redrawing).")],
                returns: "none",
                help: "Clears what the notebook cell has shown so far. Does nothing in a terminal.",
                example: "clear_output()\nprint(\"fresh start\")") { call in
            call.interpreter.frontEnd.clearOutput?(call.bool("wait"))
            return .none
        }
    }

    static var html: Builtin {
        Builtin("html", [Parameter("markup", .string, help: "HTML text.")], returns: "markup",
                help: "HTML for a notebook to render (a terminal shows a one-line description).",
                example: "html(\"<b>done</b>\")") { call in
            .object(MarkupValue(call.string("markup"), mimeType: MIMEType.html))
        }
    }

    static var svg: Builtin {
        Builtin("svg", [Parameter("markup", .string, help: "SVG text, starting with <svg or <?xml.")], returns: "markup",
                help: "An SVG picture for a notebook to render (a terminal shows a one-line description).",
                example: "svg(\"<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20'><circle cx='10' cy='10' r='8'/></svg>\")") { call in
            let text = call.string("markup")
            let start = text.drop(while: \.isWhitespace)
            guard start.hasPrefix("<svg") || start.hasPrefix("<?xml") else {
                throw call.error("markup", "'markup' must be SVG text starting with <svg or <?xml")
            }
            return .object(MarkupValue(text, mimeType: MIMEType.svg))
        }
    }
}
