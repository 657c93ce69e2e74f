import ArgumentParser
import CastScript
import Foundation

/// `cast run FILE.cast [-- ARGS...]`: runs a script, printing the value of each top-level
/// expression as a notebook would show it.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a cast-language script, printing each top-level expression's value.",
        discussion: "The strings after `--` are the list `args` in the script. Plots print as text graphics; "
            + "--plots DIR also saves each as an SVG file. On an error the located message goes to "
            + "stderr and the exit status is 1; Ctrl-C stops a running builtin, keeping what it made, and ends the "
            + "script with status 130. See docs/language.md.")

    @Argument(help: "The script (a .cast file), or - for standard input.") var file: String
    @Argument(parsing: .postTerminator, help: "Arguments for the script, after `--`.") var arguments: [String] = []
    @Flag(help: "No progress bars on stderr.") var quiet = false
    @Option(help: ArgumentHelp("Save each plot the script shows as DIR/plot-N.svg and print its path.", valueName: "DIR"))
    var plots: String?

    func run() throws {
        let source: String
        do {
            source = file == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let interpreter = Interpreter(arguments: arguments)
        interpreter.output = writeStandardOutput
        let bars = ProgressBars(enabled: !quiet)
        interpreter.progress = bars
        Interrupt.install()
        interpreter.isCancelled = { Interrupt.requested }
        defer { Interrupt.uninstall() }
        do {
            let folder = plots.map { PlotFolder(URL(fileURLWithPath: $0)) }
            try interpreter.run(source, file: file == "-" ? "<stdin>" : file) { value in
                writeStandardOutput((folder?.shown(value) ?? value.plainText) + "\n")
            }
        } catch let error as ScriptError {
            writeStandardError(error.rendered() + "\n")
            throw ExitCode(error.kind == .interrupted ? 130 : 1)
        }
    }
}

/// The progress protocol drawn as `ProgressBar`s on stderr, one per task.
final class ProgressBars: ProgressSink {
    private let enabled: Bool
    private var bar: ProgressBar?

    init(enabled: Bool) { self.enabled = enabled }

    func begin(task: String, unit: String, total: Int) {
        bar = ProgressBar(label: task, unit: unit, enabled: enabled)
    }

    func report(done: Int, total: Int, detail: String) {
        bar?.update(done: done, total: total, extra: detail)
    }

    func end() {
        bar?.finish()
        bar = nil
    }
}
