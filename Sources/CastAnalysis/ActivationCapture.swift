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
        let catalog = PointCatalog(model)
        guard !requested.isEmpty else { throw AnalysisError("no points to capture (see `cast points -m \(model.name)`)") }
        for p in requested { try catalog.check(p) }
        guard options.keepRows || options.statistics else {
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
        let recorder = ActivationRecorder(points: points, keepRows: options.keepRows, statistics: options.statistics)
        let passOptions = ForwardOptions(adapters: adapters, arithmetic: arithmetic,
                                         lastLayer: needsFinal ? nil : deepest, logits: false, tap: recorder)
        var result = ActivationSet(model: model.name, points: points)
        var pass = ForwardPass()
        var remaining = options.budget ?? Int.max
        var index = 0
        while index < sequences.count && remaining > 0 {
            // Consecutive sequences whose padded rows fit in one pass.
            var batch: [Int] = [], longest = 0
            while index < sequences.count {
                let n = sequences[index].ids.count
                if !batch.isEmpty && (batch.count + 1) * max(longest, n) > options.batchRows { break }
                batch.append(index)
                longest = max(longest, n)
                index += 1
            }
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
                    result.tokens.append(CapturedToken(sequence: s, textIndex: sequence.textIndex, position: position,
                                                       id: sequence.ids[position],
                                                       isAnswer: sequence.answerStart.map { position >= $0 } ?? false))
                    remaining -= 1
                    if remaining == 0 { break }
                }
            }
            if !selected.isEmpty {
                recorder.selected = selected
                try model.forward(batch.map { sequences[$0].ids }, options: passOptions, pass: &pass)
                result.selectedCount += selected.count
            }
            try progress?(index, sequences.count)
        }
        guard result.selectedCount > 0 else {
            throw AnalysisError("no tokens were selected (positions: \(options.positions)"
                                + (options.positions == .answer ? "; only task examples and generations have answer tokens)" : ")"))
        }
        if !options.keepRows { result.tokens = [] }
        for point in points {
            let width = recorder.widths[point] ?? catalog.width(of: point)!
            if options.keepRows {
                let values = recorder.kept[point] ?? []
                result.rows[point] = try Tensor(values, shape: [values.count / width, width])
            }
            if options.statistics { result.statistics[point] = recorder.accumulators[point] }
        }
        return result
    }
}
