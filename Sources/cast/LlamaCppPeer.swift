import Foundation

/// The llama.cpp side of `cast bench models`: `scripts/bench_llamacpp.py --serve`, run with the
/// reference venv's python, answering one JSON line per JSON command. Kept running across a
/// model's measurements so ours and llama.cpp's can alternate.
final class LlamaCppPeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private var pending = Data()

    /// Starts the script with the reference venv's python.
    init(python: URL, script: URL) throws {
        process.executableURL = python
        process.arguments = [script.path, "--serve"]
        process.standardInput = input
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot start \(python.path) \(script.path): \(error.localizedDescription)")
        }
    }

    deinit {
        if process.isRunning {
            try? input.fileHandleForWriting.write(contentsOf: Data("{\"cmd\": \"quit\"}\n".utf8))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// Loads `model` with `threads` threads; the load time in seconds.
    func load(model: String, threads: Int, context: Int) throws -> Double {
        try seconds(["cmd": "load", "model": model, "threads": threads, "context": context])
    }

    /// Seconds to process `tokens` in one batch from an empty context.
    func prefill(_ tokens: [Int]) throws -> Double {
        try seconds(["cmd": "prefill", "tokens": tokens])
    }

    /// Seconds to decode `tokens` one at a time after an (untimed) `prompt`.
    func decode(prompt: [Int], tokens: [Int]) throws -> Double {
        try seconds(["cmd": "decode", "prompt": prompt, "tokens": tokens])
    }

    /// The peer process's peak resident set size (VmHWM) in bytes.
    func peakRSS() throws -> Int {
        let answer = try request(["cmd": "rss"])
        guard let bytes = answer["peak_rss_bytes"] as? Int else {
            throw Failure(description: "bench_llamacpp.py: no peak_rss_bytes in \(answer)")
        }
        return bytes
    }

    /// The vector features the peer's llama.cpp build runs ("AVX AVX2 FMA F16C AVX512 …").
    func features() throws -> String {
        let answer = try request(["cmd": "features"])
        guard let features = answer["features"] as? String else {
            throw Failure(description: "bench_llamacpp.py: no features in \(answer)")
        }
        return features
    }

    private func seconds(_ command: [String: Any]) throws -> Double {
        let answer = try request(command)
        guard let seconds = answer["seconds"] as? Double else {
            throw Failure(description: "bench_llamacpp.py: no seconds in the answer to \(command["cmd"]!): \(answer)")
        }
        return seconds
    }

    private func request(_ command: [String: Any]) throws -> [String: Any] {
        var line = try JSONSerialization.data(withJSONObject: command)
        line.append(UInt8(ascii: "\n"))
        do {
            try input.fileHandleForWriting.write(contentsOf: line)
        } catch {
            throw Failure(description: "bench_llamacpp.py exited (status \(exitStatus)); see its messages above")
        }
        let reply = try readLine()
        guard let answer = try JSONSerialization.jsonObject(with: reply) as? [String: Any] else {
            throw Failure(description: "bench_llamacpp.py: expected a JSON object, got \(String(decoding: reply, as: UTF8.self))")
        }
        if let error = answer["error"] as? String {
            throw Failure(description: "bench_llamacpp.py (\(command["cmd"]!)): \(error)")
        }
        return answer
    }

    private func readLine() throws -> Data {
        let reader = output.fileHandleForReading
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                return Data(line)
            }
            // availableData returns as soon as anything arrives (read(upToCount:) waits for all).
            let chunk = reader.availableData
            guard !chunk.isEmpty else {
                process.waitUntilExit()
                throw Failure(description: "bench_llamacpp.py exited (status \(exitStatus)) before answering; see its messages above")
            }
            pending.append(chunk)
        }
    }

    private var exitStatus: String {
        process.isRunning ? "still running" : String(process.terminationStatus)
    }
}
