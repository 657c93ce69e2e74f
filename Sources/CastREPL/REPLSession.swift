import CastScript
import Foundation

/// The REPL's logic, apart from any terminal: it collects the lines of one input until the
/// input is complete, runs meta commands (`:help`, `:vars`, `:time`, `:quit`), evaluates
/// the input in one long-lived interpreter and writes each value's `text/plain` rendering
/// (errors, located, to `writeError`). Also answers completion requests for the line being
/// typed, in the context of the lines already entered.
public final class REPLSession {
    public enum Outcome: Equatable, Sendable {
        /// Read the next line (at `prompt`).
        case next
        /// End the session (exit status 0).
        case quit
    }

    public static let primaryPrompt = "cast> "
    public static let continuationPrompt = "  ... "
    public static let banner = """
        cast — the cast language. Type :help for help, help() for the builtins, help(name) for one.
        Tab completes; Ctrl-C stops a running builtin or drops the line; Ctrl-D or :quit leaves.

        """
    public static let help = """
        Enter an expression to see its value, or `name = expression` to bind a name. An input
        with an open bracket or triple-quoted string continues on the next line (prompt "...").

          help()        every builtin, with its signature
          help(name)    one builtin's documentation and example
          :vars         the variables of this session
          :time         toggle showing how long each input took
          :help         this text
          :quit         leave (so does Ctrl-D)

        Tab completes names, keyword arguments (inside a call), attributes (after '.') and model
        names (inside load("…")). Ctrl-C stops a running builtin, keeping what it made, or drops
        the line being typed. Up and Down walk the history (kept in ~/.cast_history, or
        $CAST_HISTORY). The language: docs/language.md.

        """

    public let interpreter: Interpreter
    /// Whether each input's duration is shown (`:time`).
    public private(set) var timing = false
    /// The lines of an input that is not complete yet.
    public private(set) var pending: [String] = []
    /// Where the plots shown are saved as SVG, so the picture behind a text graphic can be
    /// opened ($TMPDIR/cast-plots-PID unless the front end says otherwise).
    public var plotFolder = PlotFolder.temporary
    private let write: (String) -> Void
    private let writeError: (String) -> Void

    /// - Parameters:
    ///   - write: where values and meta-command output go (stdout).
    ///   - writeError: where errors go (stderr).
    public init(interpreter: Interpreter, write: @escaping (String) -> Void, writeError: @escaping (String) -> Void) {
        self.interpreter = interpreter
        self.write = write
        self.writeError = writeError
    }

    /// The prompt for the next line: the primary one, or the continuation one inside an input.
    public var prompt: String { pending.isEmpty ? Self.primaryPrompt : Self.continuationPrompt }

    public func handle(_ event: LineEvent) -> Outcome {
        switch event {
        case .endOfInput:
            return .quit
        case .interrupted:
            pending = []
            return .next
        case .line(let line):
            if pending.isEmpty, let command = Self.metaCommand(line) { return meta(command) }
            pending.append(line)
            let source = pending.joined(separator: "\n")
            if Interpreter.isComplete(source) == .incomplete { return .next }
            pending = []
            if !source.allSatisfy(\.isWhitespace) { evaluate(source) }
            return .next
        }
    }

    /// `:name` (with surrounding blanks) when the line is a meta command.
    static func metaCommand(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix(":"), trimmed.count > 1, !trimmed.contains(" ") else { return nil }
        return String(trimmed.dropFirst())
    }

    private func meta(_ command: String) -> Outcome {
        switch command {
        case "help", "h", "?":
            write(Self.help)
        case "vars":
            evaluate("vars()", timed: false)
        case "time":
            timing.toggle()
            write("timing \(timing ? "on" : "off")\n")
        case "quit", "q", "exit":
            return .quit
        default:
            writeError("unknown command ':\(command)'; the commands are :help, :vars, :time, :quit\n")
        }
        return .next
    }

    private func evaluate(_ source: String, timed: Bool = true) {
        let start = Date()
        do {
            try interpreter.run(source) { value in write(plotFolder.shown(value) + "\n") }
        } catch let error as ScriptError {
            writeError(error.rendered() + "\n")
        } catch {
            writeError("error: \(error)\n")
        }
        if timing, timed {
            write(String(format: "time: %.3f s\n", Date().timeIntervalSince(start)))
        }
    }

    // MARK: completion

    /// Completions at `cursor` (a Unicode-scalar offset) in `line`, the line being typed,
    /// read after the pending lines of the input; `replacing` is a span of `line`.
    public func completions(line: String, cursor: Int) -> (candidates: [CompletionCandidate], replacing: Range<Int>) {
        let before = pending.isEmpty ? "" : pending.joined(separator: "\n") + "\n"
        let offset = before.unicodeScalars.count
        let found = interpreter.completions(in: before + line, at: offset + cursor)
        guard found.replacing.lowerBound >= offset else { return ([], cursor..<cursor) }
        return (found.candidates, (found.replacing.lowerBound - offset)..<(found.replacing.upperBound - offset))
    }

    /// The completions as texts that replace `line`'s span from `wordStart` to `cursor`
    /// (where readline's notion of the word begins, which may differ from the language's:
    /// readline breaks words at '.' and '-', which model names contain).
    public func completions(line: String, cursor: Int, wordStart: Int) -> [String] {
        let found = completions(line: line, cursor: cursor)
        let scalars = Array(line.unicodeScalars)
        let start = found.replacing.lowerBound
        guard start <= scalars.count, wordStart <= scalars.count else { return [] }
        var out: [String] = []
        for text in found.candidates.map(\.text) {
            let adjusted: String
            if start <= wordStart {
                let typed = Array(scalars[start..<wordStart])
                guard Array(text.unicodeScalars.prefix(typed.count)) == typed else { continue }
                adjusted = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(typed.count)))
            } else {
                adjusted = String(String.UnicodeScalarView(scalars[wordStart..<start])) + text
            }
            if !out.contains(adjusted) { out.append(adjusted) }
        }
        return out
    }
}
