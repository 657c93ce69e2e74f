import CastScript
import Foundation

/// `cast repl`: one interpreter for the session, readline on a terminal (plain lines when
/// stdin is not one), the banner, Ctrl-C wired to the interpreter's cancellation.
public enum REPL {
    /// The history file: `$CAST_HISTORY` when set (empty: no history), else `~/.cast_history`.
    public static func historyPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let path = environment["CAST_HISTORY"] { return path.isEmpty ? nil : path }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cast_history").path
    }

    /// Runs the REPL until Ctrl-D or `:quit`.
    /// - Parameter progress: draws long builtins' progress (the bar `cast run` uses).
    public static func run(progress: ProgressSink?) {
        let interpreter = Interpreter()
        interpreter.progress = progress
        interpreter.output = writeOut
        let session = REPLSession(interpreter: interpreter, write: writeOut, writeError: writeErr)
        InterruptSignal.install()
        defer { InterruptSignal.uninstall() }
        interpreter.isCancelled = { InterruptSignal.isRaised }
        if isatty(STDIN_FILENO) == 1 {
            writeOut(REPLSession.banner)
            InputLoop.run(session, reader: ReadlineReader(session: session, historyPath: historyPath()))
        } else {
            InputLoop.run(session, reader: PlainLineReader())
        }
    }

    private static func writeOut(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    private static func writeErr(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
