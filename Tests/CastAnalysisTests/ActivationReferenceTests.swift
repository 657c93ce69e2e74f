import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastAnalysis
@testable import CastModels

/// An activation reference recorded by scripts/record_activation_reference.py: for two
/// prompts, at TransformerLens-named points, the exact numpy forward pass's (float64 over
/// gguf-dequantized weights) per-row norms and the first values of a few rows.
struct ActivationReference: Decodable {
    struct Summary: Decodable {
        var width: Int
        var norms: [Double]
        var first: [[Double]]
    }
    struct Prompt: Decodable {
        var name: String
        var ids: [Int32]
        var rows: [Int]
        var points: [String: Summary]
    }
    var model: String
    var layers: Int
    var detail_layer: Int
    var prompts: [Prompt]

    static func load(_ model: String) throws -> ActivationReference {
        let url = try #require(Bundle.module.url(forResource: "activations-\(model)", withExtension: "json",
                                                 subdirectory: "References"))
        return try JSONDecoder().decode(ActivationReference.self, from: Data(contentsOf: url))
    }
}

enum AnalysisTestModels {
    /// A real model, or the tiny random GPT-2 the models' tests keep (no real GPT-2 GGUF here).
    static func model(_ name: String) throws -> Transformer {
        if name == "tiny-gpt2" {
            let url = TestSupport.repository.appendingPathComponent("Tests/CastModelsTests/References/tiny-gpt2.gguf")
            return try Transformer.loadGGUF(path: url.path, name: "tiny-gpt2")
        }
        return try TestModels.model(name)
    }
}

@Suite(.serialized) struct ActivationReferenceTests {
    /// Every recorded point, captured through the forward pass's tap, against the numpy pass:
    /// each row's norm and the first values of the recorded rows within 2e-3 of the row's
    /// scale (its RMS, norm/√width).
    @Test(arguments: ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b", "tiny-gpt2"])
    func capturedPointsMatchNumpy(model name: String) throws {
        let reference = try ActivationReference.load(name)
        let model = try AnalysisTestModels.model(name)
        var worst = 0.0, worstWhere = ""
        for prompt in reference.prompts {
            let points = try prompt.points.keys.sorted().map { key in try #require(ActivationPoint(parsing: key), "\(key)") }
            let set = try ActivationCapture.run(model, sequences: [CaptureSequence(ids: prompt.ids)], points: points)
            for point in points {
                let expected = prompt.points[point.name]!
                let rows = try set.rows(point)
                #expect(rows.shape == [prompt.ids.count, expected.width], "\(name) \(point.name): shape \(rows.shape)")
                guard rows.shape == [prompt.ids.count, expected.width] else { continue }
                let width = expected.width
                for r in 0..<prompt.ids.count {
                    let p = rows.data + r * width
                    var norm = 0.0
                    for j in 0..<width { norm += Double(p[j]) * Double(p[j]) }
                    norm = norm.squareRoot()
                    let scale = max(expected.norms[r] / Double(width).squareRoot(), 1e-12)
                    let err = abs(norm - expected.norms[r]) / Double(width).squareRoot() / scale
                    if err > worst { worst = err; worstWhere = "\(prompt.name) \(point.name) row \(r) norm" }
                    #expect(err <= 2e-3, "\(name) '\(prompt.name)' \(point.name) row \(r): norm \(norm) vs numpy \(expected.norms[r])")
                }
                for (k, r) in prompt.rows.enumerated() {
                    let scale = max(expected.norms[r] / Double(width).squareRoot(), 1e-12)
                    for (j, value) in expected.first[k].enumerated() {
                        let err = abs(Double(rows.data[r * width + j]) - value) / scale
                        if err > worst { worst = err; worstWhere = "\(prompt.name) \(point.name) [\(r), \(j)]" }
                        #expect(err <= 2e-3, "\(name) '\(prompt.name)' \(point.name)[\(r), \(j)]: \(rows.data[r * width + j]) vs numpy \(value) (scale \(scale))")
                    }
                }
            }
        }
        print("activation reference \(name): worst |Δ|/scale \(worst) at \(worstWhere)")
    }

    /// The tap reads the pass without changing it: the residual streams it copies are the
    /// pass's own, and logits with a tap equal logits without.
    @Test func tapChangesNothingAndSeesThePassesOwnStreams() throws {
        let model = try TestModels.model("smollm2-135m")
        let ids: [[Int32]] = [[504, 3575, 282, 4649, 314], [28, 1086, 23]]
        var plain = ForwardPass()
        try model.forward(ids, options: ForwardOptions(), pass: &plain)
        let points = (0..<model.config.layerCount).map { ActivationPoint(.residPre, layer: $0) }
            + [ActivationPoint(.residPost, layer: model.config.layerCount - 1)]
        let recorder = ActivationRecorder(points: points, keepRows: true, statistics: false)
        recorder.selected = Array(0..<10)
        var tapped = ForwardPass()
        try model.forward(ids, options: ForwardOptions(tap: recorder), pass: &tapped)
        // BLAS promises no bits between two passes (DESIGN §9): equal up to rounding.
        #expect(TestSupport.maxDifference(tapped.logits, plain.logits) <= 1e-3)
        for l in 0...model.config.layerCount {
            let point = l < model.config.layerCount ? ActivationPoint(.residPre, layer: l) : ActivationPoint(.residPost, layer: l - 1)
            let kept = try #require(recorder.kept[point])
            #expect(kept == tapped.residualStream(atLayer: l).scalars, "\(point.name)")
        }
    }

    /// Batched captures with padding give each sequence's rows as a lone pass does, and a
    /// capture stops after the deepest layer it needs.
    @Test func batchedCaptureMatchesSequenceBySequence() throws {
        let model = try TestModels.model("smollm2-135m")
        let sequences = [CaptureSequence(ids: [504, 3575, 282, 4649, 314]), CaptureSequence(ids: [28, 1086, 23], textIndex: 1)]
        let point = ActivationPoint(.residPost, layer: 3)
        let together = try ActivationCapture.run(model, sequences: sequences, points: [point])
        var alone: [Float] = []
        for s in sequences {
            alone += try ActivationCapture.run(model, sequences: [s], points: [point], options: CaptureOptions(batchRows: 1)).rows(point).scalars
        }
        let rows = try together.rows(point)
        #expect(rows.shape == [8, model.config.hiddenSize])
        let diff = zip(rows.scalars, alone).map { abs($0 - $1) }.max()!
        #expect(diff <= 1e-3, "batched vs alone: \(diff)")
        #expect(together.tokens.map(\.position) == [0, 1, 2, 3, 4, 0, 1, 2])
        #expect(together.tokens.map(\.textIndex) == [0, 0, 0, 0, 0, 1, 1, 1])
    }
}
