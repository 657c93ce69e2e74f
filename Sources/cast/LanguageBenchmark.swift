import CastModels
import CastREPL
import CastScript
import Foundation

/// `cast bench language`: what the language costs beyond the engine work it asks for, and how
/// fast the REPL starts.
///
/// - Overhead: a builtin call typed as text (lexed, parsed, arguments checked, the result
///   wrapped as a value) against the same engine call made from Swift, per call, fastest of
///   several rounds each. Target: ≤ 1.05×.
/// - Start-up: `cast repl` on a pseudo-terminal until its first prompt appears, beside
///   `python3 -c pass` to its exit (the yardstick) and `python3 -i` to its first prompt.
enum LanguageBenchmark {
    static let model = "smollm2-135m"

    static func run() throws -> BenchReport {
        var report = BenchReport()
        report.rows += try overheadRows()
        report.rows += try startUpRows()
        return report
    }

    // MARK: overhead

    static func overheadRows() throws -> [BenchRow] {
        let interpreter = Interpreter()
        interpreter.output = { _ in }
        try interpreter.run("m = load(\"\(model)\")")
        guard case .object(let object) = try interpreter.evaluate("m"), let value = object as? ModelValue,
              let tokenizer = value.transformer.tokenizer else {
            throw BenchmarkError("\(model) did not load as a model with a tokenizer")
        }
        let transformer = value.transformer
        let short = "The quick brown fox jumps over the lazy dog."
        let paragraph = String(repeating: "Cartridge activation space transfer moves an adapter between models. ", count: 16)
        let prompt = "The capital of France is"
        let promptIds = try value.generator.promptIds(for: prompt, chat: false, system: nil)

        func row(_ name: String, iterations: Int, source: String, swift: @escaping () throws -> Void) throws -> BenchRow {
            // Rounds alternate the two sides so a busy machine slows both alike; fastest round each.
            var best = (ours: Double.infinity, peer: Double.infinity)
            for _ in 0..<7 {
                best.ours = min(best.ours, try perCall(iterations) { _ = try interpreter.evaluate(source) })
                best.peer = min(best.peer, try perCall(iterations) { try swift() })
            }
            return BenchRow(name: "\(name): language call", value: best.ours * 1e6, unit: "µs per call, lower is better",
                            peer: "the same engine call from Swift", peerValue: best.peer * 1e6)
        }
        return [
            try row("tokenize, \(short.count) characters", iterations: 2_000,
                    source: "tokenize(m, \"\(short)\")") {
                _ = tokenizer.encode(short, addSpecial: true, parseSpecial: true)
            },
            try row("tokenize, \(paragraph.count) characters", iterations: 200,
                    source: "tokenize(m, \"\(paragraph)\")") {
                _ = tokenizer.encode(paragraph, addSpecial: true, parseSpecial: true)
            },
            try row("logits, \(promptIds.count)-token prompt, top 5", iterations: 5,
                    source: "logits(m, \"\(prompt)\", top: 5)") {
                let cache = KVCache(config: transformer.config)
                _ = try transformer.nextTokenLogits(
                    promptIds.map(Int32.init), batch: KVCacheBatch(caches: [cache], segments: [(0, 0, promptIds.count)]),
                    adapters: value.generator.adapters, arithmetic: value.generator.arithmetic)
            },
        ]
    }

    /// Mean seconds per call over `iterations` calls.
    static func perCall(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
    }

    // MARK: start-up

    static func startUpRows() throws -> [BenchRow] {
        let cast = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let python = "/usr/bin/python3"
        let runs = 15
        var repl: [Double] = [], pythonPass: [Double] = [], pythonPrompt: [Double] = []
        for _ in 0..<runs {
            repl.append(try secondsToPrompt(cast, ["repl"], prompt: REPLSession.primaryPrompt))
            pythonPass.append(try secondsToExit(python, ["-c", "pass"]))
            pythonPrompt.append(try secondsToPrompt(python, ["-i"], prompt: ">>> "))
        }
        let name = "cast repl start-up to its first prompt (median of \(runs))"
        return [BenchRow(name: name, value: median(repl) * 1e3, unit: "ms, lower is better",
                         peer: "python3 -c pass, start to exit", peerValue: median(pythonPass) * 1e3),
                BenchRow(name: name, value: median(repl) * 1e3, unit: "ms, lower is better",
                         peer: "python3 -i, start to its first prompt", peerValue: median(pythonPrompt) * 1e3)]
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                     : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func secondsToExit(_ executable: String, _ arguments: [String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        process.waitUntilExit()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Starts the program on a new pseudo-terminal (so it sees a terminal, as a user's does),
    /// reads until `prompt` appears, then sends Ctrl-D and waits for it to exit.
    static func secondsToPrompt(_ executable: String, _ arguments: [String], prompt: String) throws -> Double {
        var controller: Int32 = -1, terminal: Int32 = -1
        guard openpty(&controller, &terminal, nil, nil, nil) == 0 else { throw BenchmarkError("openpty failed: errno \(errno)") }
        defer { close(controller) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CAST_HISTORY"] = ""      // leave the user's history alone
        environment["PYTHONSTARTUP"] = nil
        environment["TERM"] = environment["TERM"] ?? "xterm"
        process.environment = environment
        let handle = FileHandle(fileDescriptor: terminal, closeOnDealloc: true)
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        try? handle.close()
        var seen = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let target = Array(prompt.utf8)
        while !seen.ends(containing: target) {
            var poller = pollfd(fd: controller, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 10_000) > 0 else {
                process.terminate()
                throw BenchmarkError("\(executable) showed no prompt \(Value.quote(prompt)) within 10 s")
            }
            let count = read(controller, &buffer, buffer.count)
            guard count > 0 else { throw BenchmarkError("\(executable) closed its terminal before its prompt") }
            seen += buffer[0..<count]
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        _ = "\u{4}".utf8.withContiguousStorageIfAvailable { write(controller, $0.baseAddress, $0.count) }
        // Drain what it writes on the way out so it never blocks on a full terminal.
        while process.isRunning {
            var poller = pollfd(fd: controller, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0, read(controller, &buffer, buffer.count) <= 0 { break }
        }
        process.waitUntilExit()
        return seconds
    }
}

private extension Array where Element == UInt8 {
    /// Whether `needle` occurs in the array (prompts arrive at the end, but may be followed by
    /// terminal control bytes).
    func ends(containing needle: [UInt8]) -> Bool {
        guard count >= needle.count else { return false }
        for start in Swift.max(0, count - needle.count - 64)...(count - needle.count)
        where self[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
