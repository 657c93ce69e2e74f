import Foundation

/// Writes the cast kernelspec (kernel.json and logos) where Jupyter looks for kernels, with
/// `argv` pointing at this `cast` binary by absolute path, so Jupyter starts the same build
/// whatever its PATH is.
public enum KernelSpecInstaller {
    /// Where the spec goes, as `jupyter kernelspec install` names the choices.
    public enum Location: Equatable, Sendable {
        /// `$JUPYTER_DATA_DIR/kernels`, else `$XDG_DATA_HOME/jupyter/kernels`, else
        /// `~/.local/share/jupyter/kernels`.
        case user
        /// `PREFIX/share/jupyter/kernels`.
        case prefix(String)
        /// The active virtual environment's (or conda environment's) prefix.
        case sysPrefix
    }

    /// The folder that holds kernel folders for `location`.
    public static func kernelsFolder(_ location: Location,
                                     environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        switch location {
        case .user:
            if let dir = environment["JUPYTER_DATA_DIR"], !dir.isEmpty {
                return URL(fileURLWithPath: dir).appendingPathComponent("kernels")
            }
            if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
                return URL(fileURLWithPath: xdg).appendingPathComponent("jupyter/kernels")
            }
            return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/jupyter/kernels")
        case .prefix(let prefix):
            return URL(fileURLWithPath: prefix).appendingPathComponent("share/jupyter/kernels")
        case .sysPrefix:
            guard let prefix = environment["VIRTUAL_ENV"] ?? environment["CONDA_PREFIX"], !prefix.isEmpty else {
                throw KernelError("--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); "
                                  + "use --user or --prefix PATH")
            }
            return URL(fileURLWithPath: prefix).appendingPathComponent("share/jupyter/kernels")
        }
    }

    /// kernel.json for a kernel started as `executable kernel -f {connection_file}`.
    public static func kernelJSON(executable: String, displayName: String = "cast") -> Data {
        let spec: JSON = [
            "argv": [.string(executable), "kernel", "-f", "{connection_file}"],
            "display_name": .string(displayName),
            "language": "cast",
            "interrupt_mode": "message",
            "metadata": ["debugger": false],
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(spec)) ?? Data()) + Data("\n".utf8)
    }

    /// Installs the spec as `name` and returns its folder (replacing an older one).
    @discardableResult
    public static func install(_ location: Location, name: String = "cast", displayName: String = "cast",
                               executable: String = currentExecutable(),
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw KernelError("a kernel name may hold letters, digits, '.', '_' and '-' only, got '\(name)'")
        }
        let folder = try kernelsFolder(location, environment: environment).appendingPathComponent(name)
        let files = FileManager.default
        do {
            try files.createDirectory(at: folder, withIntermediateDirectories: true)
            try kernelJSON(executable: executable, displayName: displayName).write(to: folder.appendingPathComponent("kernel.json"))
            for (file, base64) in KernelSpecLogos.files {
                guard let data = Data(base64Encoded: base64) else { continue }
                try data.write(to: folder.appendingPathComponent(file))
            }
        } catch {
            throw KernelError("cannot write the kernelspec in \(folder.path): \(error.localizedDescription)")
        }
        return folder
    }

    /// The absolute path of the running binary (symlinks resolved).
    public static func currentExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
