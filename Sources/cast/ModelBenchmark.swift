import CastModels
import CastTensor
import Foundation

/// `cast bench models`: whole-model inference against llama.cpp (llama-cpp-python in the
/// reference venv) on the same GGUF files, the same token ids and the same thread count,
/// measured in the same run with ours and llama.cpp's runs alternating.
enum ModelBenchmark {
    static let defaultModels = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"]
    static let threads = 2
    static let peerName = "llama.cpp 2 threads"
    /// `CAST_BENCH_ROWS=decode`: only load, single-stream decode and peak RSS (no prefill or
    /// batched rows), for a quick comparison on a busy machine.
    static let decodeOnly = ProcessInfo.processInfo.environment["CAST_BENCH_ROWS"] == "decode"

    static func run(models: [String]) throws -> BenchReport {
        let python = try referencePython()
        let script = try locate("scripts/bench_llamacpp.py")
        let corpus = try ModelStore.path(for: "wiki")
        Parallel.threads = threads
        var report = BenchReport()
        report.env["threads"] = String(threads)
        // Other work on the machine skews both sides; say how busy it was.
        report.env["loadavg_at_start"] = loadAverage()
        report.env["peer"] = "llama-cpp-python in \(python.deletingLastPathComponent().deletingLastPathComponent().path)"
        report.env["kernels"] = PackedKernel.selected.summary
        if decodeOnly { report.env["rows"] = "load, decode, peak RSS only (CAST_BENCH_ROWS=decode)" }
        // Loads are the best of two with the file in the page cache, ours from the packed-weight
        // cache once it exists (the first load writes it; CAST_PACKED_CACHE=0 times packing).
        for variable in ["CAST_PACKED_NIBBLES", "CAST_ROW_PANELS", "CAST_SWIFT_PACKING", "CAST_PACKED_CACHE"] {
            if let value = ProcessInfo.processInfo.environment[variable] { report.env[variable] = value }
        }
        // Which of llama.cpp's kernels run (a build for AVX2 only stands in for a Zen 3 peer).
        report.env["peer_features"] = try LlamaCppPeer(python: python, script: script).features()
        for name in models.isEmpty ? defaultModels : models {
            report.rows += try rows(model: name, python: python, script: script, corpus: corpus)
        }
        report.env["loadavg_at_end"] = loadAverage()
        return report
    }

    static func rows(model name: String, python: URL, script: URL, corpus: URL) throws -> [BenchRow] {
        let path = try ModelStore.path(for: name).path
        let peer = try LlamaCppPeer(python: python, script: script)
        var rows: [BenchRow] = []
        func row(_ what: String, ours: Double, peer: Double, unit: String) {
            rows.append(BenchRow(name: "\(name) \(what)", value: ours, unit: unit, peer: peerName, peerValue: peer))
            FileHandle.standardError.write(Data("  \(name) \(what): \(format(ours)) vs \(format(peer)) \(unit)\n".utf8))
        }

        // Load: a fresh load each run (our previous copy freed first).
        var model: Transformer?
        let load = try fastestTimings(minSeconds: 0, minRuns: 2, warmUp: false, ours: {
            model = nil
            return try timed { model = try Transformer.loadGGUF(path: path, name: name) }
        }, peer: { try peer.load(model: path, threads: threads, context: 1024) })
        row("load", ours: load.ours, peer: load.peer, unit: "s, lower is better")

        guard let model, let tokenizer = model.tokenizer else {
            throw ValidationErrorMessage("\(path): the model has no tokenizer; the benchmark prompts need one")
        }
        let prompts = try BenchPrompts(tokenizer: tokenizer, corpus: corpus)

        // Speed rows twice: exact float32 arithmetic, then int8 activations (llama.cpp's own
        // precision), each timed alternately with llama.cpp.
        for arithmetic in PackedArithmetic.allCases {
            let workload = ModelWorkload(model: model, arithmetic: arithmetic)
            let tag = arithmetic == .float32 ? "" : " [int8]"
            for count in decodeOnly ? [] : [128, 512] {
                let tokens = Array(prompts.long.prefix(count))
                let t = try fastestTimings(ours: { try workload.prefill(tokens) }, peer: { try peer.prefill(tokens) })
                row("prefill \(count) tokens\(tag)", ours: Double(count) / t.ours, peer: Double(count) / t.peer,
                    unit: "tok/s, higher is better")
            }

            let prompt = Array(prompts.long.prefix(128)), steps = Array(prompts.long[128..<192])
            let decode = try fastestTimings(minRuns: 2, ours: { try workload.decode(prompt: prompt, tokens: steps) },
                                            peer: { try peer.decode(prompt: prompt, tokens: steps) })
            let peerDecode = Double(steps.count) / decode.peer
            row("decode 1 stream (64 tokens after 128)\(tag)", ours: Double(steps.count) / decode.ours, peer: peerDecode,
                unit: "tok/s, higher is better")

            // Batched: ours with all prompts at once against llama.cpp's single-stream decode.
            if decodeOnly { continue }
            let newTokens = 16, generator = Generator(model: model, arithmetic: arithmetic)
            var batched = 0.0
            for _ in 0..<2 {
                let run = try ModelWorkload.generateBatched(generator, prompts: prompts.short, newTokens: newTokens)
                batched = max(batched, Double(run.tokens) / run.seconds)
            }
            row("generate \(prompts.short.count) prompts × \(newTokens) tokens (peer: 1-stream decode)\(tag)",
                ours: batched, peer: peerDecode, unit: "tok/s, higher is better")
        }

        // Peak memory: ours in a fresh child process doing a prefill and a decode.
        let probeTokens = Array(prompts.long.prefix(BenchPrompts.longCount))
        let probe = try runMemoryProbe(path: path, tokens: probeTokens)
        let peerRSS = try peer.peakRSS()
        let bound = 1.3 * Double(probe.weights_bytes + probe.kv_cache_bytes)
        let mib = 1_048_576.0
        row("peak RSS (load, prefill 512, decode 64)", ours: Double(probe.peak_rss_bytes) / mib,
            peer: Double(peerRSS) / mib,
            unit: "MiB, lower is better; target ≤ \(format(bound / mib)) (1.3 × fp32 weights + KV)")
        return rows
    }

    /// Runs `cast bench models --probe-rss PATH` as a child, so its peak RSS covers one load.
    static func runMemoryProbe(path: String, tokens: [Int]) throws -> MemoryProbe {
        try childJSON(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                      ["bench", "models", "--probe-rss", path, "--probe-tokens", tokens.map(String.init).joined(separator: ",")],
                      what: "memory probe for \(path)")
    }

    /// The reference venv's python: `$CAST_REF_VENV`, else `.venv-ref` in the repository.
    static func referencePython() throws -> URL {
        try venvPython(variable: "CAST_REF_VENV", folder: ".venv-ref", needs: "cast bench models needs llama-cpp-python",
                       create: "`scripts/reference-venv.sh` (about 7 minutes; builds llama-cpp-python)")
    }

    /// The python of a venv named by `$variable`, else `folder` in the repository.
    static func venvPython(variable: String, folder: String, needs: String, create: String) throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [URL] = []
        if let venv = environment[variable], !venv.isEmpty {
            candidates.append(URL(fileURLWithPath: venv))
        } else {
            candidates += searchRoots().map { $0.appendingPathComponent(folder) }
        }
        for venv in candidates {
            let python = venv.appendingPathComponent("bin/python")
            if FileManager.default.isExecutableFile(atPath: python.path) { return python }
        }
        throw ValidationErrorMessage("""
            \(needs), and found no venv at \(candidates.map(\.path).joined(separator: " or ")).
            Create it with \(create), or point \(variable) at an existing one.
            """)
    }

    /// A file of the repository, looked for from the working directory and the executable up.
    static func locate(_ relativePath: String) throws -> URL {
        for root in searchRoots() {
            let url = root.appendingPathComponent(relativePath)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw ValidationErrorMessage("cannot find \(relativePath): run cast from the repository")
    }

    private static func searchRoots() -> [URL] {
        var roots: [URL] = []
        for start in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()] {
            var url = start.standardizedFileURL
            for _ in 0..<6 {
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                    if !roots.contains(url) { roots.append(url) }
                    break
                }
                url = url.deletingLastPathComponent()
            }
        }
        return roots.isEmpty ? [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] : roots
    }

    private static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    private static func format(_ x: Double) -> String {
        x >= 100 ? String(format: "%.0f", x) : x >= 10 ? String(format: "%.1f", x) : String(format: "%.2f", x)
    }
}
