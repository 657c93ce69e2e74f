import CastModels
import CastTensor

/// Captures activations at named points while the model runs over sequences: one forward
/// pass per batch of sequences with an `ActivationRecorder` tapped in, stopping after the
/// deepest layer a point needs and never computing logits. Memory is bounded by the token
/// budget (kept rows) or by the points' widths (statistics only).
public enum ActivationCapture {
    public static func run(_ model: Transformer, sequences: [CaptureSequence], points requested: [ActivationPoint],
                           options: CaptureOptions = CaptureOptions(), adapters: AdapterSet = .none,
                           arithmetic: PackedArithmetic = .float32,
                           progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil) throws -> ActivationSet {
        try capture(model, sequences: sequences, points: requested, options: options, adapters: adapters,
                    arithmetic: arithmetic, progress: progress, onPass: nil)
    }

    /// Like `run`, but hands each pass's selected rows (`[n, width]` per point, the same n
    /// tokens for every point) and their tokens to `body` as soon as the pass ends, and
    /// keeps none of them: memory is bounded by one pass (`options.batchRows`), not by the
    /// tokens. The result holds the count and, with `options.statistics`, the statistics.
    public static func stream(_ model: Transformer, sequences: [CaptureSequence], points requested: [ActivationPoint],
                              options: CaptureOptions = CaptureOptions(), adapters: AdapterSet = .none,
                              arithmetic: PackedArithmetic = .float32,
                              progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil,
                              body: (_ rows: [ActivationPoint: Tensor], _ tokens: [CapturedToken]) throws -> Void) throws -> ActivationSet {
        try withoutActuallyEscaping(body) { body in
            try capture(model, sequences: sequences, points: requested, options: options, adapters: adapters,
                        arithmetic: arithmetic, progress: progress, onPass: body)
        }
    }

    private static func capture(_ model: Transformer, sequences: [CaptureSequence], points requested: [ActivationPoint],
                                options: CaptureOptions, adapters: AdapterSet, arithmetic: PackedArithmetic,
                                progress: ((_ done: Int, _ total: Int) throws -> Void)?,
                                onPass: ((_ rows: [ActivationPoint: Tensor], _ tokens: [CapturedToken]) throws -> Void)?) throws -> ActivationSet {
        let catalog = PointCatalog(model)
        guard !requested.isEmpty else { throw AnalysisError("no points to capture (see `cast points -m \(model.name)`)") }
        for p in requested { try catalog.check(p) }
        guard options.keepRows || options.statistics || onPass != nil else {
            throw AnalysisError("a capture must keep rows, statistics, or both")
        }
        if let budget = options.budget, budget < 1 { throw AnalysisError("the token budget must be at least 1, got \(budget)") }
        guard !sequences.isEmpty else { throw AnalysisError("no sequences to capture over (empty text?)") }
        if let bad = sequences.firstIndex(where: { $0.ids.isEmpty }) {
            throw AnalysisError("sequence \(bad) has no tokens")
        }
        let limit = model.config.contextLength
        if let bad = sequences.firstIndex(where: { $0.ids.count > limit }) {
            throw AnalysisError("sequence \(bad) has \(sequences[bad].ids.count) tokens, past \(model.name)'s context of \(limit); use a smaller window")
        }
        let points = Array(Set(requested)).sorted()
        let needsFinal = points.contains { $0.layer == nil }
        let deepest = points.compactMap(\.layer).max() ?? model.config.layerCount - 1
        let keepRows = options.keepRows || onPass != nil
        let recorder = ActivationRecorder(points: points, keepRows: keepRows, statistics: options.statistics)
        let passOptions = ForwardOptions(adapters: adapters, arithmetic: arithmetic,
                                         lastLayer: needsFinal ? nil : deepest, logits: false, tap: recorder)
        var result = ActivationSet(model: model.name, points: points)
        var pass = ForwardPass()
        var remaining = options.budget ?? Int.max
        var reported = 0
        // Sequences that keep no position (e.g. outside a chunk) cost no pass.
        let active = sequences.indices.filter { !options.positions.positions(of: sequences[$0]).isEmpty }
        let batches = CaptureBatches.plan(active.map { sequences[$0].ids.count }, batchRows: options.batchRows)
        for range in batches where remaining > 0 {
            let batch = range.map { active[$0] }, longest = batch.map { sequences[$0].ids.count }.max()!
            var selected: [Int] = []
            for (b, s) in batch.enumerated() where remaining > 0 {
                let sequence = sequences[s]
                var rank = 0
                for position in options.positions.positions(of: sequence) {
                    defer { rank += 1 }
                    guard position >= 0 && position < sequence.ids.count else {
                        throw AnalysisError("sequence \(s): position \(position) is outside its \(sequence.ids.count) tokens")
                    }
                    guard options.subsampling.keeps(sequence: s, rank: rank) else { continue }
                    selected.append(b * longest + position)
                    // Without rows, only the count is kept (memory must not grow with tokens).
                    if keepRows {
                        result.tokens.append(CapturedToken(sequence: s, textIndex: sequence.textIndex, position: position,
                                                           id: sequence.ids[position],
                                                           isAnswer: sequence.answerStart.map { position >= $0 } ?? false))
                    }
                    remaining -= 1
                    if remaining == 0 { break }
                }
            }
            if !selected.isEmpty {
                recorder.selected = selected
                try model.forward(batch.map { sequences[$0].ids }, options: passOptions, pass: &pass)
                result.selectedCount += selected.count
                if let onPass {
                    var rows: [ActivationPoint: Tensor] = [:]
                    for (point, values) in recorder.takeKept() {
                        rows[point] = try Tensor(values, shape: [selected.count, values.count / selected.count])
                    }
                    try onPass(rows, result.tokens)
                    result.tokens = []
                }
            }
            try progress?(batch.last! + 1, sequences.count)
            reported = batch.last! + 1
        }
        if remaining > 0 && reported < sequences.count { try progress?(sequences.count, sequences.count) }
        guard result.selectedCount > 0 else {
            throw AnalysisError("no tokens were selected (positions: \(options.positions)"
                                + (options.positions == .answer ? "; only task examples and generations have answer tokens)" : ")"))
        }
        result.tapSeconds = recorder.seconds
        for point in points {
            let width = recorder.widths[point] ?? catalog.width(of: point)!
            if options.keepRows && onPass == nil {
                let values = recorder.kept[point] ?? []
                result.rows[point] = try Tensor(values, shape: [values.count / width, width])
            }
            if options.statistics { result.statistics[point] = recorder.accumulators[point] }
        }
        return result
    }
}
