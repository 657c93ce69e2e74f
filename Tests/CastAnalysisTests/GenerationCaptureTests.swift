import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing
@testable import CastAnalysis

/// Activations captured while a model generates (the recorder tapped into the cached
/// prefill and decode steps) against the ordinary forward-pass capture over the same
/// prompt + generated tokens.
///
/// Bound: the two paths compute the same numbers in a different order (a decode step's
/// products run over one row, the prefill's over many; attention reads a cache instead of
/// masking a square), so they differ by float32 rounding carried through the layers:
/// measured ≤ 4e-6 of a row's RMS on the tiny models and ≤ 1e-4 on smollm2-135m. A wrong
/// position (RoPE), row, cache entry or mask moves a row by a sizeable fraction of its
/// RMS. Each row's largest difference must stay under `tolerance` × that row's RMS in the
/// full pass.
@Suite struct GenerationCaptureTests {
    static let tinyTolerance: Float = 1e-4
    static let realTolerance: Float = 1e-3

    /// Two prompts of different lengths (the batch's segments differ).
    let prompts = [CaptureSequence(ids: [1, 5, 9], textIndex: 0), CaptureSequence(ids: [2, 7, 3, 8, 4, 6], textIndex: 1)]

    /// The forward-pass capture over prompt + generated tokens: the reference.
    func reference(_ m: Transformer, _ result: GenerationCapture.Result, points: [ActivationPoint],
                   options: CaptureOptions = CaptureOptions()) throws -> ActivationSet {
        let sequences = try CaptureInputs.generation(prompts: promptIds(result), generated: result.generated.map(\.ids))
        return try ActivationCapture.run(m, sequences: sequences, points: points, options: options)
    }

    func promptIds(_ result: GenerationCapture.Result) -> [[Int]] {
        result.sequences.map { $0.ids.prefix($0.answerStart!).map(Int.init) }
    }

    /// The worst row of `got` against `want`: max |Δ| / RMS of the reference row.
    func worstRelative(_ got: Tensor, _ want: Tensor) -> Float {
        guard got.shape == want.shape, want.rank == 2 else { return .infinity }
        let width = want.shape[1]
        var worst: Float = 0
        for r in 0..<want.shape[0] {
            var sum: Float = 0, largest: Float = 0
            for j in 0..<width {
                let w = want.data[r * width + j]
                sum += w * w
                largest = max(largest, abs(got.data[r * width + j] - w))
            }
            let rms = (sum / Float(width)).squareRoot()
            worst = max(worst, largest / max(rms, 1e-6))
        }
        return worst
    }

    /// Every point's rows within `tolerance`, and the same tokens in the same order.
    func expectMatches(_ got: ActivationSet, _ want: ActivationSet, tolerance: Float, _ label: String) throws {
        #expect(got.tokens == want.tokens, "\(label): tokens")
        #expect(got.points == want.points)
        var worst: Float = 0
        for p in want.points {
            let error = worstRelative(try got.rows(p), try want.rows(p))
            #expect(error <= tolerance, "\(label) \(p.name): max |Δ| = \(error) × row RMS")
            worst = max(worst, error)
        }
        print("\(label): worst row max |Δ| / RMS = \(worst) over \(want.points.count) points, \(want.tokens.count) rows")
    }

    @Test(arguments: [Architecture.llama, .qwen2, .gemma3, .gpt2])
    func equalsTheForwardPassOverPromptAndGeneration(_ architecture: Architecture) throws {
        let m = try TinyModels.model(architecture)
        let points = PointCatalog(m).allPoints
        let result = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 5), points: points)
        #expect(result.generated.map(\.ids.count) == [5, 5])
        try expectMatches(result.activations, try reference(m, result, points: points), tolerance: Self.tinyTolerance,
                          "tiny-\(architecture.rawValue)")
        // Rows stay with their sequence, in order: all of sequence 0, then all of sequence 1.
        let tokens = result.activations.tokens
        #expect(tokens.map(\.sequence) == Array(repeating: 0, count: 8) + Array(repeating: 1, count: 11))
        #expect(tokens.map(\.position) == Array(0..<8) + Array(0..<11))
        #expect(tokens.map(\.textIndex) == Array(repeating: 0, count: 8) + Array(repeating: 1, count: 11))
        #expect(tokens.map { Int($0.id) } == result.sequences[0].ids.map(Int.init) + result.sequences[1].ids.map(Int.init))
        #expect(tokens.map(\.isAnswer) == (0..<8).map { $0 >= 3 } + (0..<11).map { $0 >= 6 })
    }

    /// answer keeps exactly the generated tokens; last each sequence's last kept token.
    @Test func answerAndLastSelectors() throws {
        let m = try TinyModels.model(.qwen2)
        let points = [ActivationPoint(.residPost, layer: 1), ActivationPoint(.z, layer: 0), ActivationPoint(.finalNormalized, layer: nil)]
        for positions in [PositionSelector.answer, .last, .from(4)] {
            let options = CaptureOptions(positions: positions)
            let result = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 4), points: points,
                                                   options: options)
            try expectMatches(result.activations, try reference(m, result, points: points, options: options),
                              tolerance: Self.tinyTolerance, "tiny-qwen2 \(positions)")
            let tokens = result.activations.tokens
            switch positions {
            case .answer:
                #expect(tokens.map(\.position) == Array(3..<7) + Array(6..<10))
                #expect(tokens.map { Int($0.id) } == result.generated[0].ids + result.generated[1].ids)
                #expect(tokens.allSatisfy { $0.isAnswer })
            case .last:
                #expect(tokens.map(\.position) == [6, 9])
            default:
                #expect(tokens.map(\.position) == Array(4..<7) + Array(4..<10))
            }
        }
    }

    /// A sequence that stops on an end-of-generation token records nothing past its last
    /// kept token (the stop token is never fed), and its last row is the one before it.
    @Test func stopsAtEndOfGeneration() throws {
        let m = try TinyModels.model(.llama)
        let point = ActivationPoint(.residPost, layer: 1)
        let free = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 6), points: [point])
        let first = free.generated[0].ids
        // Stop on sequence 0's third new token (its first occurrence).
        let stop = first[2], kept = first.firstIndex(of: stop)!
        let options = GenerationOptions(maxNewTokens: 6, stopTokens: [stop])
        for positions in [PositionSelector.all, .last] {
            let capture = CaptureOptions(positions: positions)
            let result = try GenerationCapture.run(m, prompts: prompts, generation: options, points: [point], options: capture)
            #expect(result.generated[0].finishReason == .endOfGeneration)
            #expect(result.generated[0].ids == Array(first.prefix(kept)))
            let rows0 = result.activations.tokens.filter { $0.sequence == 0 }.map(\.position)
            #expect(rows0 == (positions == .last ? [3 + kept - 1] : Array(0..<(3 + kept))))
            #expect(!result.activations.tokens.contains { $0.position >= result.sequences[$0.sequence].ids.count })
            try expectMatches(result.activations, try reference(m, result, points: [point], options: capture),
                              tolerance: Self.tinyTolerance, "tiny-llama eos \(positions)")
        }
    }

    /// Statistics alone (no rows kept) equal the forward pass's; subsampling and the budget
    /// keep the rows they say.
    @Test func statisticsSubsamplingAndBudget() throws {
        let m = try TinyModels.model(.gemma3)
        let point = ActivationPoint(.mlpPost, layer: 2)
        let stats = CaptureOptions(keepRows: false, statistics: true)
        let result = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 5), points: [point],
                                               options: stats)
        #expect(result.activations.rows[point] == nil && result.activations.tokens.isEmpty)
        #expect(result.activations.selectedCount == 19)
        let want = try reference(m, result, points: [point], options: stats)
        let a = try result.activations.covariance(point).covariance(), b = try want.covariance(point).covariance()
        let scale = b.map(abs).max()!
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-4 * scale)

        let every = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 5), points: [point],
                                              options: CaptureOptions(subsampling: .every(3)))
        #expect(every.activations.tokens.map(\.position) == [0, 3, 6, 0, 3, 6, 9])
        // The budget keeps the first rows as they are computed: the prompts' (3 + 6), then step by step.
        let budget = try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 5), points: [point],
                                               options: CaptureOptions(budget: 11))
        #expect(budget.activations.tokens.map(\.position) == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6])
    }

    /// The tap reads; it never changes what is generated or the logits behind it.
    @Test func tapLeavesTheLogitsAlone() throws {
        let m = try TinyModels.model(.gemma3)
        func run(tapped: Bool) throws -> ([[Int]], [[Float]]) {
            var logits: [[Float]] = []
            let recorder = ActivationRecorder(points: [ActivationPoint(.residPost, layer: 0), ActivationPoint(.finalNormalized, layer: nil)],
                                              keepRows: true, statistics: true)
            recorder.cachedCall = { segments in Array(0..<segments.reduce(0) { $0 + $1.count }) }
            let result = try Generator(model: m).generate(prompts: prompts.map { $0.ids.map(Int.init) },
                                                          options: GenerationOptions(maxNewTokens: 5),
                                                          onLogits: { _, row in logits.append(Array(row)) },
                                                          tap: tapped ? recorder : nil)
            return (result.sequences.map(\.ids), logits)
        }
        let (plainIds, plainLogits) = try run(tapped: false)
        let (tappedIds, tappedLogits) = try run(tapped: true)
        #expect(plainIds == tappedIds && plainLogits == tappedLogits)
        #expect(plainLogits.count == 2 * 5)
    }

    @Test func badInputIsAnError() throws {
        let m = try TinyModels.model(.llama)
        let point = ActivationPoint(.residPost, layer: 0)
        let none = #expect(throws: AnalysisError.self) {
            try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 0), points: [point])
        }
        #expect(none?.description.contains("at least 1 new token") == true)
        #expect(throws: AnalysisError.self) {
            try GenerationCapture.run(m, prompts: prompts, generation: GenerationOptions(maxNewTokens: 2),
                                      points: [ActivationPoint(.residPost, layer: 5)])
        }
        #expect(throws: AnalysisError.self) {
            try GenerationCapture.run(m, prompts: [], generation: GenerationOptions(maxNewTokens: 2), points: [point])
        }
    }

    /// What capturing during generation costs (CAST_MEASURE=1 to run): smollm2-135m, four
    /// prompts, 64 new tokens, every layer's residual stream kept, against plain generation
    /// and against the old way (generate, then a forward-pass capture over prompt +
    /// generation). Fastest of three rounds each.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CAST_MEASURE"] != nil))
    func measureCost() throws {
        let m = try TestModels.model("smollm2-135m")
        let texts = ["The history of the river begins in the northern hills, where", "Photosynthesis is the process by which",
                     "In 1905 Albert Einstein published four papers that", "The recipe calls for two cups of flour and"]
        let sequences = try CaptureInputs.texts(texts, tokenizer: #require(m.tokenizer))
        let points = (0..<30).map { ActivationPoint(.residPost, layer: $0) }
        let generation = GenerationOptions(maxNewTokens: 64)
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<3 {
                let start = Date()
                try body()
                best = min(best, Date().timeIntervalSince(start))
            }
            return best
        }
        var tap = 0.0, rows = 0
        let plain = try seconds { _ = try Generator(model: m).generate(prompts: sequences.map { $0.ids.map(Int.init) }, options: generation) }
        let during = try seconds {
            let r = try GenerationCapture.run(m, prompts: sequences, generation: generation, points: points)
            tap = r.activations.tapSeconds
            rows = r.activations.tokens.count
        }
        var rerunOnly = 0.0
        let old = try seconds {
            let g = try Generator(model: m).generate(prompts: sequences.map { $0.ids.map(Int.init) }, options: generation)
            let start = Date()
            _ = try ActivationCapture.run(m, sequences: CaptureInputs.generation(prompts: sequences.map { $0.ids.map(Int.init) },
                                                                                 generated: g.sequences.map(\.ids)), points: points)
            rerunOnly = Date().timeIntervalSince(start)
        }
        print(String(format: "smollm2-135m, 4 prompts × 64 new tokens, %d rows × 30 points: plain generation %.2f s; capture during "
                     + "generation %.2f s (%.2f×; tap %.2f s); generate + rerun %.2f s (%.2f×; the rerun alone %.2f s)",
                     rows, plain, during, during / plain, tap, old, old / plain, rerunOnly))
    }

    /// smollm2-135m, short: every kind of point at a few layers, two prompts.
    @Test func realModel() throws {
        let m = try TestModels.model("smollm2-135m")
        let tokenizer = try #require(m.tokenizer)
        let texts = ["The capital of France is", "Water boils at a temperature of"]
        let sequences = try CaptureInputs.texts(texts, tokenizer: tokenizer)
        let catalog = PointCatalog(m)
        let points = catalog.allPoints.filter { [0, 14, 29].contains($0.layer ?? 29) }
        let result = try GenerationCapture.run(m, prompts: sequences, generation: GenerationOptions(maxNewTokens: 6), points: points)
        let reference = try ActivationCapture.run(m, sequences: result.sequences, points: points)
        try expectMatches(result.activations, reference, tolerance: Self.realTolerance, "smollm2-135m")
        // Greedy generation is what the plain generator writes.
        let plain = try Generator(model: m).generate(prompts: sequences.map { $0.ids.map(Int.init) },
                                                     options: GenerationOptions(maxNewTokens: 6))
        #expect(plain.sequences.map(\.ids) == result.generated.map(\.ids))
    }
}
