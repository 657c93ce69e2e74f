import Foundation

/// Runs helper programs (pip, unzip) found on PATH. stderr goes to a file rather than a pipe so
/// a chatty child can never block on a full pipe while we stream its stdout.
struct Subprocess {
    let tool: String
    let arguments: [String]
    /// Directory for the captured stderr file.
    let scratch: URL

    struct Outcome {
        let status: Int32
        let stderr: String

        /// pip and unzip put the cause of a failure on their "ERROR:"-style lines, or the last line.
        var errorSummary: String {
            let lines = stderr.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            var summary = lines.filter { $0.hasPrefix("ERROR:") || $0.hasPrefix("error:") }
            if summary.isEmpty { summary = [lines.last ?? "no message on stderr"] }
            // pip hides a network failure behind retry warnings and "from versions: none".
            if let cause = lines.last(where: { $0.contains("connection broken by") }).map(Self.connectionCause) {
                summary.insert("network error (\(cause));", at: 0)
            }
            return summary.joined(separator: " ")
        }

        /// "…Failed to establish a new connection: [Errno 111] Connection refused')…" → the errno part.
        static func connectionCause(_ line: String) -> String {
            guard let start = line.range(of: "[Errno ") ?? line.range(of: "connection broken by ") else {
                return line
            }
            let tail = line[start.lowerBound...]
            return String(tail.prefix { $0 != "'" && $0 != ")" })
        }
    }

    /// Runs to completion, discarding stdout.
    func run() throws -> Outcome {
        try run(consumingStdout: nil)
    }

    /// Runs to completion, handing each chunk of stdout to `consume` as it arrives.
    /// If `consume` throws, the child is terminated and the error rethrown.
    func run(consumingStdout consume: ((Data) throws -> Void)?) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        environment["PIP_NO_INPUT"] = "1"
        process.environment = environment

        let stderrURL = scratch.appendingPathComponent("\(tool)-\(UUID().uuidString).stderr")
        guard FileManager.default.createFile(atPath: stderrURL.path, contents: nil),
              let stderrHandle = try? FileHandle(forWritingTo: stderrURL) else {
            throw FetchError.io(path: stderrURL.path, operation: "create", detail: "cannot create stderr capture file")
        }
        defer {
            try? stderrHandle.close()
            try? FileManager.default.removeItem(at: stderrURL)
        }
        process.standardError = stderrHandle
        process.standardInput = FileHandle.nullDevice
        let stdoutPipe = Pipe()
        process.standardOutput = consume == nil ? FileHandle.nullDevice : stdoutPipe

        do {
            try process.run()
        } catch {
            throw FetchError.toolMissing(tool: tool, detail: error.localizedDescription)
        }

        if let consume {
            let reader = stdoutPipe.fileHandleForReading
            do {
                while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
                    try consume(chunk)
                }
            } catch {
                process.terminate()
                process.waitUntilExit()
                throw error
            }
        }
        process.waitUntilExit()

        let captured = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        // /usr/bin/env exits 127 when the program itself is not on PATH.
        if process.terminationStatus == 127, captured.contains("No such file") {
            throw FetchError.toolMissing(tool: tool, detail: "not found on PATH (\(captured.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        return Outcome(status: process.terminationStatus, stderr: captured)
    }
}
