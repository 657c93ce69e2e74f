import CastScript
import Foundation
import Testing

/// The builtins that reach the person at a front end (input, display, page, warn,
/// clear_output, html, svg) go through the interpreter's hooks, which the kernel sets.
@Suite("front-end builtins and their hooks")
struct FrontEndHooksTests {
    final class Recorder: @unchecked Sendable {
        var events: [String] = []
    }

    func interpreter(_ recorder: Recorder) -> Interpreter {
        let interpreter = Interpreter()
        interpreter.output = { recorder.events.append("out: \($0)") }
        var hooks = FrontEndHooks()
        hooks.readInput = { prompt, password in
            recorder.events.append("ask: \(prompt) \(password)")
            return "Ada"
        }
        hooks.display = { recorder.events.append("display: \($0.display().keys.sorted())") }
        hooks.page = { recorder.events.append("page: \($0.plainText.prefix(5))") }
        hooks.writeError = { recorder.events.append("err: \($0)") }
        hooks.clearOutput = { recorder.events.append("clear: \($0)") }
        interpreter.frontEnd = hooks
        return interpreter
    }

    @Test("each builtin calls its hook, in order")
    func hooks() throws {
        let recorder = Recorder()
        let interpreter = interpreter(recorder)
        try interpreter.run("""
            name = input("Who? ", password: true)
            display(vars(), svg("<svg xmlns='http://www.w3.org/2000/svg'/>"), html("<b>x</b>"))
            page(help(print))
            warn("careful", 1)
            clear_output(wait: true)
            print(name)
            """)
        #expect(recorder.events == [
            "ask: Who?  true",
            "display: [\"text/html\", \"text/plain\"]",
            "display: [\"image/svg+xml\", \"text/plain\"]",
            "display: [\"text/html\", \"text/plain\"]",
            "page: print",
            "err: careful 1\n",
            "clear: true",
            "out: Ada\n",
        ])
    }

    @Test("without hooks: display and page print text/plain, clear_output does nothing; svg checks its markup")
    func terminalDefaults() throws {
        let interpreter = Interpreter()
        var out = ""
        interpreter.output = { out += $0 }
        try interpreter.run("display(6 * 7)\nclear_output()\npage(\"long text\")\nsvg(\"<svg/>\")")
        #expect(out == "42\nlong text\n")
        #expect(try interpreter.evaluate("svg(\"<svg/>\")").plainText == "<svg image 6 characters>")
        #expect(throws: ScriptError.self) { try interpreter.evaluate("svg(\"<div/>\")") }
    }

    @Test("an input the front end refuses is a located error")
    func refusedInput() {
        let interpreter = Interpreter()
        var hooks = FrontEndHooks()
        hooks.readInput = { _, _ in throw CocoaError(.featureUnsupported) }
        interpreter.frontEnd = hooks
        #expect(throws: ScriptError.self) { try interpreter.evaluate("input(\"x\")") }
    }
}
