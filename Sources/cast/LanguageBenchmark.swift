import CastModels
import CastREPL
@_spi(Benchmark) import CastScript
import Foundation

/// `cast bench language`: what the language costs beyond the engine work it asks for, and how
/// fast the REPL starts.
///
/// - Overhead: a builtin call against the same engine call made from Swift, per call, fastest
///   of several rounds each, two ways: as a line typed in the REPL (lexed, parsed, arguments
///   checked, the result wrapped as a value, every time), and parsed once and evaluated many
///   times (what a statement of a script body costs; the language has no loops, so an
///   interface kept for this benchmark runs it). Target: ≤ 1.05×.
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

        /// Two rows: the call typed as a line, and the call parsed once and evaluated again.
        /// Rounds are short (about a millisecond where the call allows) and many, and alternate
        /// the sides, so that on a busy machine each side has rounds no other process cut into;
        /// the fastest round of each side counts.
        func rows(_ name: String, iterations: Int, rounds: Int, source: String,
                  swift: @escaping () throws -> Void) throws -> [BenchRow] {
            let prepared = try interpreter.prepare(source)
            // Each language side has its own Swift side, timed right after it as often, so that
            // neither gets the lower minimum of more tries.
            var best = (line: Double.infinity, linePeer: Double.infinity, parsed: Double.infinity, parsedPeer: Double.infinity)
            for _ in 0..<rounds {
                best.line = min(best.line, try perCall(iterations) { _ = try interpreter.evaluate(source) })
                best.linePeer = min(best.linePeer, try perCall(iterations) { try swift() })
                best.parsed = min(best.parsed, try perCall(iterations) { _ = try interpreter.evaluate(prepared) })
                best.parsedPeer = min(best.parsedPeer, try perCall(iterations) { try swift() })
            }
            let unit = "µs per call, lower is better", peer = "the same engine call from Swift"
            return [BenchRow(name: "\(name): language call, a typed line", value: best.line * 1e6, unit: unit,
                             peer: peer, peerValue: best.linePeer * 1e6),
                    BenchRow(name: "\(name): language call, parsed once", value: best.parsed * 1e6, unit: unit,
                             peer: peer, peerValue: best.parsedPeer * 1e6)]
        }
        return [
            try rows("tokenize, \(short.count) characters", iterations: 100, rounds: 300,
                     source: "tokenize(m, \"\(short)\")") {
                _ = tokenizer.encode(short, addSpecial: true, parseSpecial: true)
            },
            try rows("tokenize, \(paragraph.count) characters", iterations: 12, rounds: 300,
                     source: "tokenize(m, \"\(paragraph)\")") {
                _ = tokenizer.encode(paragraph, addSpecial: true, parseSpecial: true)
            },
            try rows("logits, \(promptIds.count)-token prompt, top 5", iterations: 1, rounds: 25,
                     source: "logits(m, \"\(prompt)\", top: 5)") {
                let cache = KVCache(config: transformer.config)
                _ = try transformer.nextTokenLogits(
                    promptIds.map(Int32.init), batch: KVCacheBatch(caches: [cache], segments: [(0, 0, promptIds.count)]),
                    adapters: value.generator.adapters, arithmetic: value.generator.arithmetic)
            },
        ].flatMap { $0 }
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
