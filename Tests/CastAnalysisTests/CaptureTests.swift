import CastAdapters
import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastAnalysis
@testable import CastModels

@Suite struct CaptureTests {
    let texts = ["The capital of France is Paris.", "Water boils at 100 degrees Celsius at sea level.",
                 "def add(a, b):\n    return a + b\n"]

    func model() throws -> Transformer { try TestModels.model("smollm2-135m") }

    @Test func positionsBudgetAndSubsampling() throws {
        let m = try model()
        let sequences = try CaptureInputs.texts(texts, tokenizer: #require(m.tokenizer))
        let lengths = sequences.map(\.ids.count)
        let point = ActivationPoint(.residPost, layer: 2)
        let all = try ActivationCapture.run(m, sequences: sequences, points: [point])
        #expect(try all.rows(point).shape == [lengths.reduce(0, +), m.config.hiddenSize])
        let last = try ActivationCapture.run(m, sequences: sequences, points: [point], options: CaptureOptions(positions: .last))
        #expect(last.tokens.map(\.position) == lengths.map { $0 - 1 })
        // The last rows equal the corresponding rows of the full capture.
        let full = try all.rows(point), lastRows = try last.rows(point), d = m.config.hiddenSize
        var offset = 0
        for (k, n) in lengths.enumerated() {
            let a = Array(UnsafeBufferPointer(start: full.data + (offset + n - 1) * d, count: d))
            let b = Array(UnsafeBufferPointer(start: lastRows.data + k * d, count: d))
            #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-3)
            offset += n
        }
        let budget = try ActivationCapture.run(m, sequences: sequences, points: [point], options: CaptureOptions(budget: 5))
        let budgetRows = try budget.rows(point).shape[0]
        #expect(budget.tokens.count == 5 && budgetRows == 5)
        let every = try ActivationCapture.run(m, sequences: sequences, points: [point], options: CaptureOptions(subsampling: .every(3)))
        let everyThird = every.tokens.allSatisfy { $0.position % 3 == 0 }
        #expect(everyThird)
        let skip = try ActivationCapture.run(m, sequences: sequences, points: [point], options: CaptureOptions(positions: .from(1)))
        #expect(skip.tokens.count == lengths.reduce(0, +) - 3)
        let random = try ActivationCapture.run(m, sequences: sequences, points: [point],
                                               options: CaptureOptions(subsampling: .fraction(0.5, seed: 9)))
        let again = try ActivationCapture.run(m, sequences: sequences, points: [point],
                                              options: CaptureOptions(subsampling: .fraction(0.5, seed: 9)))
        #expect(random.tokens == again.tokens)
        #expect(random.tokens.count > 0 && random.tokens.count < all.tokens.count)
    }

    /// Statistics alone (no rows kept) give the covariance the kept rows give.
    @Test func statisticsOnlyMatchesRows() throws {
        let m = try model()
        let sequences = try CaptureInputs.texts(texts, tokenizer: #require(m.tokenizer))
        let point = ActivationPoint(.mlpPost, layer: 1)
        let stats = try ActivationCapture.run(m, sequences: sequences, points: [point],
                                              options: CaptureOptions(keepRows: false, statistics: true))
        #expect(stats.rows[point] == nil)
        let rows = try ActivationCapture.run(m, sequences: sequences, points: [point])
        let a = try stats.covariance(point).covariance(), b = try rows.covariance(point).covariance()
        let scale = a.map(abs).max()!
        #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-4 * scale)
        #expect(stats.selectedCount == rows.tokens.count)
    }

    @Test func taskAnswersAndGenerations() throws {
        let m = try model()
        let tokenizer = try #require(m.tokenizer)
        let task = [TaskExample(prompt: "2 + 2 =", answer: "4"), TaskExample(prompt: "3 + 5 =", answer: "8")]
        let sequences = try CaptureInputs.task(task, tokenizer: tokenizer, contextLength: m.config.contextLength)
        let point = ActivationPoint(.residPost, layer: 0)
        let answers = try ActivationCapture.run(m, sequences: sequences, points: [point], options: CaptureOptions(positions: .answer))
        let allAnswers = answers.tokens.allSatisfy { $0.isAnswer }
        #expect(allAnswers)
        let answerCount = sequences.reduce(0) { $0 + $1.ids.count - $1.answerStart! }
        #expect(answers.tokens.count == answerCount)
        let generated = try CaptureInputs.generation(prompts: [[504, 3575]], generated: [[282, 4649, 314]])
        let gen = try ActivationCapture.run(m, sequences: generated, points: [point], options: CaptureOptions(positions: .answer))
        #expect(gen.tokens.map(\.position) == [2, 3, 4])
        let none = #expect(throws: AnalysisError.self) {
            try ActivationCapture.run(m, sequences: try CaptureInputs.texts(["hello"], tokenizer: tokenizer), points: [point],
                                      options: CaptureOptions(positions: .answer))
        }
        #expect(none?.description.contains("answer tokens") == true)
    }

    @Test func emptyTextAndBadPointsAreErrors() throws {
        let m = try model()
        let tokenizer = try #require(m.tokenizer)
        let empty = #expect(throws: AnalysisError.self) { try CaptureInputs.texts([""], tokenizer: tokenizer) }
        #expect(empty?.description.contains("empty") == true)
        #expect(throws: AnalysisError.self) { try CaptureInputs.texts([], tokenizer: tokenizer) }
        let bad = #expect(throws: AnalysisError.self) {
            try ActivationCapture.run(m, sequences: [CaptureSequence(ids: [1, 2])], points: [ActivationPoint(.residPost, layer: 30)])
        }
        #expect(bad?.description.contains("0...29") == true, "\(bad?.description ?? "")")
    }

    /// Safetensors and .npy exports hold the captured rows under the points' names.
    @Test func exportsRoundTrip() throws {
        let m = try model()
        let points = [ActivationPoint(.residPost, layer: 0), ActivationPoint(.z, layer: 3), ActivationPoint(.finalNormalized, layer: nil)]
        let set = try ActivationCapture.run(m, sequences: CaptureInputs.texts(texts, tokenizer: #require(m.tokenizer)), points: points)
        let folder = try TestSupport.temporaryFolder()
        let file = folder.appendingPathComponent("acts.safetensors")
        try set.writeSafetensors(to: file)
        let read = try SafetensorsFile(url: file)
        #expect(Set(read.names) == Set(points.map(\.name)))
        for p in points { #expect(try read.tensor(p.name) == set.rows(p)) }
        #expect(read.metadata["model"] == "smollm2-135m")
        #expect(read.metadata["token_ids"]?.hasPrefix("[") == true)
        try set.writeNumpy(folder: folder.appendingPathComponent("npy"))
        let npy = try Data(contentsOf: folder.appendingPathComponent("npy/blocks.3.attn.hook_z.npy"))
        #expect(npy.prefix(6) == Data([0x93] + Array("NUMPY".utf8)))
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self)
        let rows = try set.rows(points[1])
        #expect(header.contains("'shape': (\(rows.shape[0]), \(rows.shape[1]))"))
        #expect(npy.count == 10 + headerLength + rows.count * 4)
    }

    /// Two tokenizers, one text: rows pair positions that end at the same byte.
    @Test func crossTokenizerCapturePairsByByteOffset() throws {
        let a = try TestModels.model("smollm2-135m"), b = try TestModels.model("gemma3-270m")
        let point = ActivationPoint(.residPost, layer: 2)
        let (ra, rb) = try PairedCapture.run(a, b, texts: texts, pointsA: [point], pointsB: [point])
        #expect(ra.tokens.count == rb.tokens.count && ra.tokens.count > 10)
        let ta = try #require(a.tokenizer), tb = try #require(b.tokenizer)
        for (x, y) in zip(ra.tokens, rb.tokens) {
            let sa = try CaptureInputs.texts([texts[x.textIndex]], tokenizer: ta)[0]
            let sb = try CaptureInputs.texts([texts[y.textIndex]], tokenizer: tb)[0]
            #expect(sa.endOffsets![x.position] == sb.endOffsets![y.position])
        }
        let matrix = try SimilarityMatrix(rows: [LabelledActivations(label: "b", layer: 2, rows: rb.rows(point))],
                                          columns: [LabelledActivations(label: "a", layer: 2, rows: ra.rows(point))],
                                          permutations: 4, neighbors: 3)
        #expect(matrix.cka[0][0] > matrix.baseline[0][0])
    }
}
