import ArgumentParser
import CastREPL

/// `cast repl`: the interactive front end (DESIGN.md §2, `CastREPL`).
struct Repl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "An interactive cast-language session with line editing, history and tab completion.",
        discussion: "Type :help inside. History is kept in ~/.cast_history ($CAST_HISTORY overrides; empty keeps none). "
            + "Ctrl-C stops a running builtin or drops the line; Ctrl-D or :quit leaves with status 0.")

    @Flag(help: "No progress bars on stderr.") var quiet = false

    func run() throws {
        REPL.run(progress: ProgressBars(enabled: !quiet))
    }
}
