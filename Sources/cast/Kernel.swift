import ArgumentParser
import CastKernel

/// `cast kernel -f FILE`: the Jupyter kernel (DESIGN.md §8); `cast kernel install`: its
/// kernelspec.
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "The Jupyter kernel for the cast language (started by Jupyter with a connection file).",
        discussion: "Jupyter runs `cast kernel -f {connection_file}` once the kernelspec is installed "
            + "(`cast kernel install`). Interrupt a running cell from the notebook: long builtins stop at their next "
            + "step and keep their work. History is kept in ~/.local/share/cast/kernel_history.jsonl "
            + "($CAST_HOME/kernel_history.jsonl when CAST_HOME is set, $CAST_KERNEL_HISTORY overrides; empty keeps none). "
            + "See docs/kernel.md.",
        subcommands: [KernelInstall.self])

    @Option(name: [.customShort("f"), .customLong("connection-file")], help: "The connection file Jupyter wrote.")
    var connectionFile: String?

    func run() throws {
        guard let connectionFile else {
            throw ValidationError("give the connection file: cast kernel -f FILE (Jupyter does this), or use cast kernel install")
        }
        do {
            try Kernel(connectionFile: connectionFile).run()
        } catch let error as KernelError {
            writeStandardError("cast kernel: \(error.description)\n")
            throw ExitCode.failure
        }
    }
}

/// `cast kernel install [--user | --prefix P | --sys-prefix]`.
struct KernelInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install the cast kernelspec so Jupyter lists the cast kernel (`jupyter kernelspec list`).",
        discussion: "Without a choice, installs for the current user (like --user). The spec's argv names this cast "
            + "binary by its absolute path.")

    @Flag(help: "Install for the current user (~/.local/share/jupyter/kernels, or $JUPYTER_DATA_DIR/kernels).")
    var user = false
    @Option(help: "Install under PREFIX/share/jupyter/kernels.") var prefix: String?
    @Flag(help: "Install into the active Python environment ($VIRTUAL_ENV or $CONDA_PREFIX).") var sysPrefix = false
    @Option(help: "The kernel's name (its folder).") var name = "cast"
    @Option(help: "The name notebooks show.") var displayName = "cast"

    func validate() throws {
        if [user, prefix != nil, sysPrefix].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --user, --prefix PATH and --sys-prefix")
        }
    }

    func run() throws {
        let location: KernelSpecInstaller.Location = prefix.map { .prefix($0) } ?? (sysPrefix ? .sysPrefix : .user)
        do {
            let folder = try KernelSpecInstaller.install(location, name: name, displayName: displayName)
            print("Installed the cast kernelspec in \(folder.path)")
        } catch let error as KernelError {
            writeStandardError("cast kernel install: \(error.description)\n")
            throw ExitCode.failure
        }
    }
}
