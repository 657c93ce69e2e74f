import CastModels
import CastTensor

/// The passes over text that `StatisticsCKA` streams its statistics from: one model's
/// points against each other, or two models on the same text (paired by byte offset).
extension StatisticsCKA {
    /// Passes of one model over `sequences`, rows being `points` (a symmetric matrix: no
    /// columns). Each chunk is one forward pass's rows (at most `options.batchRows`).
    public static func passes(_ model: Transformer, sequences: [CaptureSequence], points: [ActivationPoint],
                              options: CaptureOptions, arithmetic: PackedArithmetic = .float32) -> Pass {
        var streamed = options
        streamed.keepRows = false
        streamed.statistics = false
        return { rows, _, body in
            let wanted = rows.map { points[$0] }
            _ = try ActivationCapture.stream(model, sequences: sequences, points: wanted, options: streamed,
                                             arithmetic: arithmetic) { captured, _ in
                var chunk: [Int: Tensor] = [:]
                for i in rows { chunk[i] = captured[points[i]] }
                try body((rows: chunk, columns: [:]))
            }
        }
    }

    /// Passes of two models over the same texts: rows are `b`'s `pointsB`, columns `a`'s
    /// `pointsA`, paired token by token as `PairedCapture` pairs them. The windows are read
    /// a chunk at a time (about `chunkRows` paired tokens): both models capture the chunk,
    /// the rows are handed over and dropped.
    public static func pairedPasses(_ a: Transformer, _ b: Transformer, texts: [String], pointsA: [ActivationPoint],
                                    pointsB: [ActivationPoint], options: CaptureOptions, window: Int,
                                    chunkRows: Int = 2048) throws -> Pass {
        let (sa, sb) = try PairedCapture.sequences(a, b, texts: texts, window: window, positions: options.positions)
        // Consecutive windows whose paired positions stay within chunkRows (one window at least).
        let chunks = CaptureBatches.plan(sa.map { $0.positions?.count ?? 0 }, batchRows: chunkRows)
        var kept = options
        kept.keepRows = true
        kept.statistics = false
        return { rows, columns, body in
            var remaining = options.budget ?? Int.max
            for chunk in chunks where remaining > 0 {
                // Windows outside the chunk keep no position, so the capture skips them; each
                // window keeps its index, so subsampling picks the same tokens as in one capture.
                func only(_ sequences: [CaptureSequence]) -> [CaptureSequence] {
                    sequences.indices.map { k in
                        var s = sequences[k]
                        if !chunk.contains(k) { s.positions = [] }
                        return s
                    }
                }
                kept.budget = remaining
                var r: [Int: Tensor] = [:], c: [Int: Tensor] = [:]
                var tokensA: [CapturedToken]? = nil, tokensB: [CapturedToken]? = nil, count = 0
                do {
                    if !columns.isEmpty {
                        let ra = try ActivationCapture.run(a, sequences: only(sa), points: columns.map { pointsA[$0] }, options: kept)
                        for j in columns { c[j] = try ra.rows(pointsA[j]) }
                        tokensA = ra.tokens
                        count = ra.selectedCount
                    }
                    if !rows.isEmpty {
                        let rb = try ActivationCapture.run(b, sequences: only(sb), points: rows.map { pointsB[$0] }, options: kept)
                        for i in rows { r[i] = try rb.rows(pointsB[i]) }
                        tokensB = rb.tokens
                        count = rb.selectedCount
                    }
                } catch let error as AnalysisError where error.description.hasPrefix("no tokens were selected") {
                    continue  // subsampling kept nothing of this chunk
                }
                if let tokensA, let tokensB { try PairedCapture.checkPaired(tokensA, tokensB) }
                try body((rows: r, columns: c))
                remaining -= count
            }
        }
    }
}
