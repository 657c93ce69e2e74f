import CastAdapters
import CastAnalysis
import CastModels
import CastTensor
import Foundation

/// `cast bench analysis`: capture at every layer's residual stream (`blocks.{l}.hook_resid_post`,
/// l = 0…23) with PCA of each, over 8,192 tokens of wiki text on qwen2.5-0.5b, beside the
/// model's plain forward pass over the same tokens in the same passes (windows of 1,024
/// tokens, two per pass: `CaptureBatches`, as the capture groups them), through every layer
/// and the final norm, no logits (the capture computes none either).
///
/// Each side runs in a fresh child process of its own (`CAST_BENCH_ANALYSIS_SIDE`), so its
/// peak RSS (VmHWM, which only grows) is that side's alone; the sides alternate over
/// `rounds` rounds and the fastest run of each is reported. "Model" in the memory target is
/// the child's RSS right after loading the model, before any pass.
enum AnalysisBenchmark {
    static let model = "qwen2.5-0.5b", tokens = 8192, window = 1024, components = 10, rounds = 3
    static let sideVariable = "CAST_BENCH_ANALYSIS_SIDE"

    /// What one child measures of its side.
    struct Side: Codable {
        var seconds: Double
        /// Of `seconds`, the PCA's and the capture tap's (capture side only).
        var pca_seconds: Double
        var tap_seconds: Double
        var peak_rss_bytes: Int
        var model_rss_bytes: Int
        var tokens: Int
        var passes: Int
    }

    static func run() throws -> BenchReport {
        if let side = ProcessInfo.processInfo.environment[sideVariable] {
            // The child: measure one side, print it and stop (the parent prints the report).
            let measured = try measure(side: side)
            FileHandle.standardOutput.write(try JSONEncoder().encode(measured))
            exit(0)
        }
        var report = BenchReport()
        report.env["loadavg_at_start"] = loadAverage()
        var forward: [Side] = [], capture: [Side] = []
        for round in 1...rounds {
            forward.append(try child("forward"))
            capture.append(try child("capture"))
            FileHandle.standardError.write(Data(String(format: "  round %d: forward %.2f s, capture + PCA %.2f s (tap %.2f s, PCA %.2f s)\n",
                                                       round, forward.last!.seconds, capture.last!.seconds, capture.last!.tap_seconds,
                                                       capture.last!.pca_seconds).utf8))
        }
        report.env["loadavg_at_end"] = loadAverage()
        let fastForward = forward.min { $0.seconds < $1.seconds }!, fastCapture = capture.min { $0.seconds < $1.seconds }!
        let mib = 1_048_576.0
        let modelRSS = Double(forward.map(\.model_rss_bytes).max()!) / mib
        let peakForward = Double(forward.map(\.peak_rss_bytes).max()!) / mib
        let peakCapture = Double(capture.map(\.peak_rss_bytes).max()!) / mib
        report.env["model"] = model
        report.env["points"] = "blocks.0…23.hook_resid_post (24 points), PCA k = \(components) each"
        report.env["tokens"] = "\(fastCapture.tokens) in \(fastCapture.passes) passes of ≤ \(CaptureOptions().batchRows) rows (windows of \(window))"
        report.env["rounds"] = "\(rounds), sides alternating, each in its own process; fastest reported"
        report.env["model_rss_after_load_mib"] = String(format: "%.0f", modelRSS)
        // The capture's own work, timed inside the run: what it adds to the forward whatever
        // else the machine is doing (the two sides' wall times move with the machine's load).
        report.env["pca_seconds"] = String(format: "%.2f", fastCapture.pca_seconds)
        report.env["tap_seconds"] = String(format: "%.2f", fastCapture.tap_seconds)
        let shape = "\(model), 24 × resid_post, \(tokens) tokens"
        report.rows.append(BenchRow(name: "capture + PCA (\(shape))", value: fastCapture.seconds,
                                    unit: "s, lower is better; target ≤ 1.2× the forward",
                                    peer: "plain forward, no logits", peerValue: fastForward.seconds))
        report.rows.append(BenchRow(name: "capture's own work: tap + PCA, timed inside the capture (\(shape))",
                                    value: fastCapture.tap_seconds + fastCapture.pca_seconds,
                                    unit: "s, lower is better; 1 + ratio estimates capture ÷ forward free of load swings",
                                    peer: "plain forward, no logits", peerValue: fastForward.seconds))
        report.rows.append(BenchRow(name: "peak RSS, capture + PCA (\(shape))", value: peakCapture,
                                    unit: String(format: "MiB, lower is better; target ≤ %.0f (model %.0f after load + 300)",
                                                 modelRSS + 300, modelRSS),
                                    peer: "plain forward, no logits", peerValue: peakForward))
        return report
    }

    /// Runs `cast bench analysis` again as a child measuring `side`.
    static func child(_ side: String) throws -> Side {
        try childJSON(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), ["bench", "analysis"],
                      environment: [sideVariable: side], what: "bench analysis: the \(side) child")
    }

    /// Loads the model, then times one side over the benchmark's tokens.
    static func measure(side: String) throws -> Side {
        let transformer = try Transformer.load(model)
        let modelRSS = try currentRSS()
        let sequences = try benchSequences(transformer)
        let batchRows = CaptureOptions().batchRows
        let passes = CaptureBatches.plan(sequences.map(\.ids.count), batchRows: batchRows)
        var pcaSeconds = 0.0, tapSeconds = 0.0
        let seconds: Double
        switch side {
        case "forward":
            var pass = ForwardPass()
            let options = ForwardOptions(logits: false)
            seconds = try timed {
                for range in passes { try transformer.forward(range.map { sequences[$0].ids }, options: options, pass: &pass) }
            }
        case "capture":
            let points = (0..<transformer.config.layerCount).map { ActivationPoint(.residPost, layer: $0) }
            seconds = try timed {
                let set = try ActivationCapture.run(transformer, sequences: sequences, points: points,
                                                    options: CaptureOptions(keepRows: false, statistics: true, batchRows: batchRows))
                tapSeconds = set.tapSeconds
                pcaSeconds = try timed {
                    for p in points { _ = try PrincipalComponents(try set.covariance(p), components: components) }
                }
            }
        default:
            throw ValidationErrorMessage("\(sideVariable)=\(side): expected forward or capture")
        }
        return Side(seconds: seconds, pca_seconds: pcaSeconds, tap_seconds: tapSeconds, peak_rss_bytes: try MemoryProbe.peakRSS(),
                    model_rss_bytes: modelRSS, tokens: sequences.reduce(0) { $0 + $1.ids.count }, passes: passes.count)
    }

    /// `tokens` tokens of the wiki corpus's training documents, joined, in windows of `window`.
    static func benchSequences(_ transformer: Transformer) throws -> [CaptureSequence] {
        guard let tokenizer = transformer.tokenizer else { throw ValidationErrorMessage("\(model) has no tokenizer") }
        let corpus = try TextCorpus.wiki()
        var text = "", next = 0
        // About four bytes a token: add documents until the text surely holds enough.
        while text.utf8.count < 8 * tokens && next < corpus.train.count {
            text += (text.isEmpty ? "" : "\n\n") + corpus.train[next]
            next += 1
        }
        var sequences: [CaptureSequence] = [], total = 0
        for s in try CaptureInputs.texts([text], tokenizer: tokenizer, window: window) where total < tokens {
            var s = s
            s.ids = Array(s.ids.prefix(tokens - total))
            s.endOffsets = s.endOffsets.map { Array($0.prefix(s.ids.count)) }
            total += s.ids.count
            sequences.append(s)
        }
        guard total == tokens else { throw ValidationErrorMessage("the wiki corpus gave \(total) tokens, fewer than \(tokens)") }
        return sequences
    }

    /// VmRSS of this process, in bytes.
    static func currentRSS() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else {
            throw ValidationErrorMessage("/proc/self/status: no VmRSS line")
        }
        return kib * 1024
    }

    private static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
