import CastModels
import CastTensor

/// Captures activations while a model generates: the recorder the forward-pass capture uses
/// is tapped into the generator's cached calls, so each prompt's rows come from the prefill
/// and each generated token's from the decode step that fed it — no second pass over
/// prompt + generation. Rows come out as the forward-pass capture gives them: sequence by
/// sequence, positions ascending, one `CapturedToken` each.
public enum GenerationCapture {
    /// `shouldStop` ended the capture during the batch of prompts that starts at `done`.
    public struct Stopped: Error {
        public let done: Int
        public let total: Int
    }

    public struct Result: Sendable {
        public let activations: ActivationSet
        /// Each prompt + its generated tokens (`answerStart`: the first generated position).
        public let sequences: [CaptureSequence]
        public let generated: [GeneratedSequence]
        /// Summed over the generation batches.
        public let timing: GenerationTiming
    }

    /// Generates after each prompt (a sequence's tokens before its `answerStart`: a task
    /// example's answer is left for the model to write) and keeps the activations at
    /// `points` of the positions `options.positions` selects in prompt + generation
    /// (`answer`: the generated tokens; `last`: each sequence's last kept token). A sequence
    /// that ends on an end-of-generation token keeps no row for it. The budget keeps the
    /// first rows in the order they are computed (the prompts, then step by step), and
    /// subsampling decides by rank within each sequence, as the forward-pass capture does.
    /// Prompts run in batches of at most `options.batchRows` padded rows (prompt + new
    /// tokens), one generation each; `progress` is called after each. `shouldStop` is
    /// checked between decode steps: when it returns true the capture throws `Stopped`
    /// and keeps nothing.
    public static func run(_ model: Transformer, prompts: [CaptureSequence], generation: GenerationOptions,
                           points requested: [ActivationPoint], options: CaptureOptions = CaptureOptions(),
                           adapters: AdapterSet = .none, arithmetic: PackedArithmetic = .float32,
                           shouldStop: () -> Bool = { false },
                           progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil) throws -> Result {
        let catalog = PointCatalog(model)
        guard !requested.isEmpty else { throw AnalysisError("no points to capture (see `cast points -m \(model.name)`)") }
        for p in requested { try catalog.check(p) }
        guard options.keepRows || options.statistics else { throw AnalysisError("a capture must keep rows, statistics, or both") }
        if let budget = options.budget, budget < 1 { throw AnalysisError("the token budget must be at least 1, got \(budget)") }
        guard generation.maxNewTokens >= 1 else {
            throw AnalysisError("a generation capture needs at least 1 new token, got \(generation.maxNewTokens)")
        }
        guard !prompts.isEmpty else { throw AnalysisError("no prompts to generate from (empty text?)") }
        let promptIds = prompts.map { Array($0.ids.prefix($0.answerStart ?? $0.ids.count)).map(Int.init) }
        if let bad = promptIds.firstIndex(where: \.isEmpty) { throw AnalysisError("prompt \(bad) has no tokens") }

        let points = Array(Set(requested)).sorted()
        let recorder = ActivationRecorder(points: points, keepRows: options.keepRows, statistics: options.statistics)
        recorder.deferred = options.positions == .last
        let generator = Generator(model: model, adapters: adapters, arithmetic: arithmetic)
        let plan = RowPlan(options: options, promptCounts: promptIds.map(\.count))
        var generated: [GeneratedSequence] = []
        var timing = GenerationTiming()
        let batches = CaptureBatches.plan(promptIds.map { $0.count + generation.maxNewTokens }, batchRows: options.batchRows)
        for range in batches {
            plan.begin(offset: range.lowerBound, count: range.count)
            recorder.cachedCall = { segments in try plan.select(segments, recorder: recorder) }
            let result = try generator.generate(prompts: Array(promptIds[range]), options: generation, shouldStop: shouldStop,
                                                onToken: { plan.observe($0) }, tap: recorder)
            if result.sequences.contains(where: { $0.finishReason == .interrupted }) {
                throw Stopped(done: range.lowerBound, total: prompts.count)
            }
            plan.end(recorder: recorder)
            generated += result.sequences
            timing.add(result.timing)
            try progress?(range.upperBound, prompts.count)
        }
        recorder.cachedCall = nil

        let sequences = prompts.indices.map { i in
            CaptureSequence(ids: (promptIds[i] + generated[i].ids).map(Int32.init), answerStart: promptIds[i].count,
                            textIndex: prompts[i].textIndex)
        }
        guard plan.count > 0 else {
            throw AnalysisError("no tokens were selected (positions: \(options.positions))")
        }
        // The recorder kept rows step by step; the result lists them sequence by sequence.
        let order = plan.kept.indices.sorted { (plan.kept[$0].sequence, plan.kept[$0].position) < (plan.kept[$1].sequence, plan.kept[$1].position) }
        var set = ActivationSet(model: model.name, points: points)
        set.selectedCount = plan.count
        set.tapSeconds = recorder.seconds
        if options.keepRows {
            set.tokens = order.map { k in
                let (s, position) = plan.kept[k]
                return CapturedToken(sequence: s, textIndex: sequences[s].textIndex, position: position, id: sequences[s].ids[position],
                                     isAnswer: position >= promptIds[s].count)
            }
        }
        for point in points {
            let width = recorder.widths[point] ?? catalog.width(of: point)!
            if options.keepRows {
                let values = recorder.kept[point] ?? []
                var rows = Tensor(zeros: [order.count, width])
                values.withUnsafeBufferPointer { v in
                    for (k, i) in order.enumerated() { (rows.mutableData + k * width).update(from: v.baseAddress! + i * width, count: width) }
                }
                set.rows[point] = rows
            }
            if options.statistics { set.statistics[point] = recorder.accumulators[point] }
        }
        return Result(activations: set, sequences: sequences, generated: generated, timing: timing)
    }
}

/// Which rows of each cached call the recorder takes, and which sequence and position each
/// kept row is. Positions are decided as they are computed, except `last`: a row waits
/// (deferred in the recorder) until the sequence is known to have no later one.
private final class RowPlan {
    let options: CaptureOptions
    let promptCounts: [Int]
    /// Where each kept row came from, in the recorder's order (only when rows are kept:
    /// statistics alone must not grow with the tokens).
    private(set) var kept: [(sequence: Int, position: Int)] = []
    private(set) var count = 0
    private var remaining: Int
    /// Selector-kept positions seen so far per sequence (subsampling's rank).
    private var ranks: [Int]
    private var finished: Set<Int> = []
    /// The current batch's first prompt, and the rows of the last call waiting for a decision.
    private var offset = 0
    private var waiting: [(sequence: Int, position: Int)] = []

    init(options: CaptureOptions, promptCounts: [Int]) {
        self.options = options
        self.promptCounts = promptCounts
        remaining = options.budget ?? Int.max
        ranks = Array(repeating: 0, count: promptCounts.count)
    }

    func begin(offset: Int, count: Int) {
        self.offset = offset
        finished = []
        waiting = []
    }

    func observe(_ event: GenerationEvent) {
        if event.finishReason != nil { finished.insert(offset + event.sequence) }
    }

    func select(_ segments: [CachedSegment], recorder: ActivationRecorder) throws -> [Int] {
        var rows: [Int] = []
        if options.positions == .last {
            // A waiting row is its sequence's last unless this call brings a later one.
            let continuing = Set(segments.map { offset + $0.sequence })
            decide(recorder) { !continuing.contains($0) && finished.contains($0) }
            for s in segments {
                rows.append(s.start + s.count - 1)
                waiting.append((offset + s.sequence, s.firstPosition + s.count - 1))
            }
            return rows
        }
        for s in segments {
            let sequence = offset + s.sequence
            for k in 0..<s.count where remaining > 0 {
                let position = s.firstPosition + k
                guard keeps(position, of: sequence) else { continue }
                defer { ranks[sequence] += 1 }
                guard options.subsampling.keeps(sequence: sequence, rank: ranks[sequence]) else { continue }
                rows.append(s.start + k)
                record((sequence, position))
            }
        }
        return rows
    }

    /// After a batch's generation: every waiting row is its sequence's last.
    func end(recorder: ActivationRecorder) {
        if options.positions == .last { decide(recorder) { _ in true } }
    }

    private func record(_ row: (sequence: Int, position: Int)) {
        if options.keepRows { kept.append(row) }
        count += 1
        remaining -= 1
    }

    private func keeps(_ position: Int, of sequence: Int) -> Bool {
        switch options.positions {
        case .all: true
        case .from(let n): position >= n
        case .answer: position >= promptCounts[sequence]
        case .last: true
        }
    }

    /// Commits the waiting rows `isLast` accepts (within the budget; rank 0 for subsampling).
    private func decide(_ recorder: ActivationRecorder, isLast: (Int) -> Bool) {
        var indices: [Int] = []
        for (k, row) in waiting.enumerated() where remaining > 0 && isLast(row.sequence)
            && options.subsampling.keeps(sequence: row.sequence, rank: 0) {
            indices.append(k)
            record(row)
        }
        recorder.commit(indices)
        waiting = []
    }
}

extension GenerationTiming {
    mutating func add(_ other: GenerationTiming) {
        sequences += other.sequences
        promptTokens += other.promptTokens
        prefillSeconds += other.prefillSeconds
        generatedTokens += other.generatedTokens
        decodeSteps += other.decodeSteps
        decodeTokens += other.decodeTokens
        decodeSeconds += other.decodeSeconds
    }
}
