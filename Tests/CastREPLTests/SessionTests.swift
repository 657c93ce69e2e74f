import Foundation
import CastScript
import Testing
@testable import CastREPL

/// The REPL's logic without a terminal: a session fed lines, and the input loop fed a
/// scripted reader.
@Suite("REPL session")
struct SessionTests {
    final class Capture {
        var out = "", err = ""
    }

    func session(_ interpreter: Interpreter = Interpreter(builtins: Builtins.all)) -> (REPLSession, Capture) {
        let capture = Capture()
        interpreter.output = { capture.out += $0 }
        let session = REPLSession(interpreter: interpreter, write: { capture.out += $0 }, writeError: { capture.err += $0 })
        return (session, capture)
    }

    @Test("an expression shows its text/plain value; an assignment shows nothing")
    func values() {
        let (s, c) = session()
        #expect(s.handle(.line("x = 6 * 7")) == .next)
        #expect(c.out.isEmpty)
        #expect(s.handle(.line("x + 1")) == .next)
        #expect(s.handle(.line("\"a\\tb\"")) == .next)
        #expect(s.handle(.line("   ")) == .next)
        #expect(c.out == "43\n\"a\\tb\"\n")
        #expect(c.err.isEmpty)
    }

    @Test("a plot shows as a text graphic with the path of its SVG, numbered per session")
    func plots() throws {
        let (s, c) = session()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cast-repl-plots-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        s.plotFolder = PlotFolder(folder)
        _ = s.handle(.line("plot([1, 4, 9, 16], title: \"squares\")"))
        _ = s.handle(.line("plot([[0, 1], [1, 0]], kind: \"heatmap\")"))
        #expect(c.err.isEmpty, "\(c.err)")
        let first = folder.appendingPathComponent("plot-1.svg").path, second = folder.appendingPathComponent("plot-2.svg").path
        #expect(c.out.contains("squares") && c.out.contains("saved \(first)\n") && c.out.contains("saved \(second)\n"))
        #expect(c.out.unicodeScalars.contains { (0x2800...0x28FF).contains($0.value) }, "the line plot is drawn in braille")
        let svg = try String(contentsOfFile: first, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("squares"))
        #expect(FileManager.default.fileExists(atPath: second))
    }

    @Test("an open bracket continues the input on the next line, at the continuation prompt")
    func continuation() {
        let (s, c) = session()
        #expect(s.prompt == REPLSession.primaryPrompt)
        _ = s.handle(.line("xs = [1,"))
        #expect(s.prompt == REPLSession.continuationPrompt)
        #expect(s.pending == ["xs = [1,"])
        _ = s.handle(.line("  2,"))
        _ = s.handle(.line("3]"))
        #expect(s.prompt == REPLSession.primaryPrompt)
        _ = s.handle(.line("xs"))
        #expect(c.out == "[1, 2, 3]\n")
    }

    @Test("errors are located, go to the error stream and keep the variables")
    func errors() {
        let (s, c) = session()
        _ = s.handle(.line("x = 1"))
        _ = s.handle(.line("y = lne([x])"))
        #expect(c.err == "1:5: error: unknown name 'lne'; did you mean 'len'?\n1 | y = lne([x])\n  |     ^^^\n")
        _ = s.handle(.line("1 +"))
        #expect(c.err.contains("error"))
        #expect(s.pending.isEmpty)
        _ = s.handle(.line("x"))
        #expect(c.out == "1\n")
    }

    @Test("Ctrl-C drops the input being typed, however many lines it has")
    func interruptedLine() {
        let (s, c) = session()
        _ = s.handle(.line("xs = [1,"))
        #expect(s.handle(.interrupted) == .next)
        #expect(s.pending.isEmpty)
        #expect(s.prompt == REPLSession.primaryPrompt)
        _ = s.handle(.line("5 * 5"))
        #expect(c.out == "25\n")
        #expect(c.err.isEmpty)
    }

    @Test("Ctrl-D and :quit end the session")
    func quitting() {
        #expect(session().0.handle(.endOfInput) == .quit)
        #expect(session().0.handle(.line(":quit")) == .quit)
        #expect(session().0.handle(.line("  :q ")) == .quit)
    }

    @Test(":help, :vars, :time and an unknown command")
    func metaCommands() {
        let (s, c) = session()
        _ = s.handle(.line(":help"))
        for command in [":vars", ":time", ":quit", "help()", "Ctrl-C"] { #expect(c.out.contains(command)) }
        c.out = ""
        _ = s.handle(.line("alpha = 0.5"))
        _ = s.handle(.line(":vars"))
        #expect(c.out.contains("alpha"), "\(c.out)")
        #expect(c.out.contains("0.5"), "\(c.out)")
        c.out = ""
        _ = s.handle(.line(":time"))
        #expect(s.timing)
        _ = s.handle(.line("1 + 1"))
        #expect(c.out.hasPrefix("timing on\n2\ntime: "), "\(c.out)")
        #expect(c.out.hasSuffix(" s\n"))
        _ = s.handle(.line(":time"))
        #expect(!s.timing)
        c.out = ""
        _ = s.handle(.line(":frobnicate"))
        #expect(c.err == "unknown command ':frobnicate'; the commands are :help, :vars, :time, :quit\n")
        // A line that only starts with ':' inside an input is the language's business.
        _ = s.handle(.line("[1,"))
        _ = s.handle(.line(":time"))
        #expect(s.pending == ["[1,", ":time"])
        #expect(!s.timing)
    }

    @Test("completion: names, keyword arguments, model names, in readline's word")
    func completion() {
        let (s, _) = session()
        _ = s.handle(.line("tokens_seen = 3"))
        #expect(s.completions(line: "toke", cursor: 4, wordStart: 0) == ["tokens_seen", "tokenize"])
        #expect(s.completions(line: "x = tokeni", cursor: 10, wordStart: 4) == ["tokenize"])
        #expect(s.completions(line: "generate(m, \"hi\", max_t", cursor: 23, wordStart: 18) == ["max_tokens: "])
        // Readline's word starts at the quote (the language's after it) ...
        #expect(s.completions(line: "load(\"smol", cursor: 10, wordStart: 5) == ["\"smollm2-135m"])
        #expect(s.completions(line: "load(\"smol", cursor: 10, wordStart: 6) == ["smollm2-135m"])
        // ... or after a '.' or '-' inside the name: the typed part before it is left out.
        #expect(s.completions(line: "load(\"qwen2.", cursor: 12, wordStart: 12) == ["5-0.5b", "5-1.5b"])
        #expect(ReadlineReader.commonPrefix(["5-0.5b", "5-1.5b"]) == "5-")
    }

    @Test("completion reads the lines already entered of an unfinished input")
    func completionAcrossLines() {
        let (s, _) = session()
        _ = s.handle(.line("r = generate(m,"))
        #expect(s.completions(line: "  max_", cursor: 6, wordStart: 2) == ["max_tokens: "])
        let found = s.completions(line: "  max_", cursor: 6)
        #expect(found.replacing == 2..<6)
    }

    @Test("attributes after '.' of a variable")
    func attributeCompletion() {
        let (s, _) = session()
        _ = s.handle(.line("r = 1..10"))
        // Plain values have no attributes; nothing is offered and nothing is evaluated.
        #expect(s.completions(line: "r.", cursor: 2, wordStart: 2).isEmpty)
    }

    final class ScriptedReader: LineReader {
        var events: [LineEvent]
        var prompts: [String] = [], remembered: [String] = []
        init(_ events: [LineEvent]) { self.events = events }
        func read(prompt: String) -> LineEvent {
            prompts.append(prompt)
            return events.isEmpty ? .endOfInput : events.removeFirst()
        }
        func remember(_ line: String) { remembered.append(line) }
    }

    @Test("the input loop: prompts, history, Ctrl-C, and Ctrl-D ending it")
    func inputLoop() {
        let (s, c) = session()
        let reader = ScriptedReader([.line("x = [2,"), .interrupted, .line("x = 2"), .line("xs = [x,"), .line("x * 21]"),
                                     .line("xs"), .endOfInput, .line("never read")])
        InputLoop.run(s, reader: reader)
        #expect(c.out == "[2, 42]\n")
        #expect(reader.prompts == ["cast> ", "  ... ", "cast> ", "cast> ", "  ... ", "cast> ", "cast> "])
        #expect(reader.remembered == ["x = [2,", "x = 2", "xs = [x,", "x * 21]", "xs"])
        #expect(reader.events == [.line("never read")])
    }

    @Test("the history file: $CAST_HISTORY, empty for none, else ~/.cast_history")
    func historyPath() {
        #expect(REPL.historyPath(environment: ["CAST_HISTORY": "/tmp/h"]) == "/tmp/h")
        #expect(REPL.historyPath(environment: ["CAST_HISTORY": ""]) == nil)
        #expect(REPL.historyPath(environment: [:])?.hasSuffix("/.cast_history") == true)
    }
}
