import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Testing

/// Finite-difference checks of the CAST loss (every objective, same and different
/// vocabularies, the head) and of the CAST layer's backward through whole tiny models.
@Suite("CAST: gradient checks")
struct CastGradientTests {
    static let bound = 1e-2

    /// Loss inputs from random logits; with `shared`, the vocabularies differ (V_s 11, V_t 13).
    static func inputs(_ objective: CastObjective, shared: Bool, seed: UInt64 = 3) -> DistillationLoss.Inputs {
        let n = 5, vs = shared ? 11 : 13, vt = 13, ds = 6, dt = 7
        var rng = SeededGenerator(seed: seed)
        func random(_ shape: [Int], _ std: Float) -> Tensor { Tensor.randomNormal(shape, std: std, using: &rng) }
        let vocab = shared ? SharedVocabulary(source: [0, 2, 3, 5, 7, 8, 10], target: [1, 12, 3, 4, 6, 9, 0]) : nil
        return DistillationLoss.Inputs(studentLogits: random([n, vt], 2), teacherLogits: random([n, vs], 2),
                                       sourceLogits: random([n, vs], 2), targetLogits: random([n, vt], 2), shared: vocab,
                                       studentHidden: random([n, dt], 1), teacherHidden: random([n, ds], 1),
                                       head: random([ds, dt], 0.5))
    }

    @Test(arguments: [(CastObjective.paper, false), (.paper, true), (.delta, false), (.delta, true), (.excess, false), (.excess, true)])
    func lossGradients(_ objective: CastObjective, _ shared: Bool) throws {
        let loss = DistillationLoss(alpha: 0.7, beta: 0.4, temperature: 1.7, objective: objective)
        let x = Self.inputs(objective, shared: shared)
        let r = try loss.evaluate(x, gradients: true)
        #expect(r.kl > 0 && r.mse > 0)
        var errors = GradientErrors()
        let h: Float = 1e-2
        func numeric(_ set: (inout DistillationLoss.Inputs, Float) -> Void) throws -> Double {
            func at(_ d: Float) throws -> Double {
                var y = x
                set(&y, d)
                return Double(try loss.evaluate(y, gradients: false).loss)
            }
            return (8 * (try at(h) - at(-h)) - (try at(2 * h) - at(-2 * h))) / (12 * Double(h))
        }
        for i in 0..<x.studentLogits.count {
            let v = x.studentLogits.data[i]
            errors.record("dStudentLogits[\(i)]", analytic: r.dStudentLogits!.data[i],
                          numeric: try numeric { y, d in y.studentLogits.mutableData[i] = v + d })
        }
        for i in 0..<x.studentHidden.count {
            let v = x.studentHidden.data[i]
            errors.record("dStudentHidden[\(i)]", analytic: r.dStudentHidden!.data[i],
                          numeric: try numeric { y, d in y.studentHidden.mutableData[i] = v + d })
        }
        for i in 0..<x.head.count {
            let v = x.head.data[i]
            errors.record("dHead[\(i)]", analytic: r.dHead!.data[i], numeric: try numeric { y, d in y.head.mutableData[i] = v + d })
        }
        #expect(errors.largestNumeric > 1e-2)
        #expect(errors.maxError < Self.bound, "\(objective) shared \(shared): \(errors)")
        // Columns outside the shared vocabulary get no gradient.
        if shared {
            let vt = r.dStudentLogits!.shape[1]
            for row in 0..<r.dStudentLogits!.shape[0] {
                for col in [2, 5, 7, 8, 10, 11] { #expect(r.dStudentLogits!.data[row * vt + col] == 0) }
            }
        }
        print("CAST loss \(objective) shared=\(shared): \(errors)")
    }

    /// The paper objective against a hand computation: T²·KL at T over gathered columns.
    @Test func lossValueMatchesDefinition() throws {
        let x = Self.inputs(.paper, shared: true)
        let loss = DistillationLoss(alpha: 1, beta: 0, temperature: 2, objective: .paper)
        let r = try loss.evaluate(x, gradients: false)
        let s = x.shared!
        var total = 0.0
        let n = x.studentLogits.shape[0]
        for row in 0..<n {
            func logSoftmax(_ t: Tensor, _ ids: [Int32]) -> [Double] {
                let w = t.shape[1]
                let z = ids.map { Double(t.data[row * w + Int($0)]) / 2 }
                let m = z.max()!, lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
                return z.map { $0 - lse }
            }
            let p = logSoftmax(x.teacherLogits, s.source), q = logSoftmax(x.studentLogits, s.target)
            total += zip(p, q).reduce(0) { $0 + Foundation.exp($1.0) * ($1.0 - $1.1) }
        }
        let expected = total / Double(n)
        #expect(abs(Double(r.kl) - expected) < 1e-5 * max(1, expected))
        #expect(abs(Double(r.loss) - 4 * expected) < 4e-5 * max(1, expected))
    }

    /// dP_in, dP_out and dH through a whole tiny student (rectangular P's: the target is
    /// wider and deeper than the source), against central differences of the real loss.
    @Test func castLayerThroughModels() throws {
        let (source, lora) = try CastTinyModels.source()
        let target = try CastTinyModels.widerTarget()
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: .relativeDepth, seed: 2)
        // Non-zero P_out so every gradient is alive.
        var rng = SeededGenerator(seed: 8)
        for layer in cast.layers { layer.cast.pOut = Tensor.randomNormal(layer.cast.pOut.shape, std: 0.5, using: &rng) }
        #expect(cast.layers.count == 3 * 4)
        let sequences = TinyModels.sequences(batch: 2, tokens: 6, seed: 5)
        var teacherPass = ForwardPass()
        try source.forward(sequences, options: ForwardOptions(adapters: lora.adapters), pass: &teacherPass)
        let loss = DistillationLoss(alpha: 1, beta: 0.5, temperature: 2, objective: .paper)
        func evaluate(gradients: Bool) throws -> Float {
            var pass = ForwardPass()
            try target.forward(sequences, options: ForwardOptions(adapters: cast.adapters, training: gradients), pass: &pass)
            let r = try loss.evaluate(DistillationLoss.Inputs(studentLogits: pass.logits, teacherLogits: teacherPass.logits,
                                                               studentHidden: pass.hidden, teacherHidden: teacherPass.hidden,
                                                               head: cast.head), gradients: gradients)
            if gradients {
                var g = ModelGradients.frozen(target.weights), none: Tensor? = nil
                try target.backward(&pass, dLogits: r.dStudentLogits, dHidden: r.dStudentHidden, gradients: &g, dEmbeddings: &none)
                try cast.dHead!.add(r.dHead!)
            }
            return r.loss
        }
        cast.setTrainable(true)
        _ = try evaluate(gradients: true)
        func numeric(_ set: (Float) -> Void) throws -> Double {
            func at(_ d: Float) throws -> Double { set(d); return Double(try evaluate(gradients: false)) }
            let h: Float = 1e-2
            let v = (8 * (try at(h) - at(-h)) - (try at(2 * h) - at(-2 * h))) / (12 * Double(h))
            set(0)
            return v
        }
        var errors = GradientErrors()
        var pick = SeededGenerator(seed: 1)
        for layer in cast.layers {
            let c = layer.cast
            for _ in 0..<4 {
                let i = Int(pick.next() % UInt64(c.pIn.count)), v = c.pIn.data[i]
                errors.record("\(layer.slot) P_in[\(i)]", analytic: c.dPIn!.data[i], numeric: try numeric { c.pIn.mutableData[i] = v + $0 })
                let j = Int(pick.next() % UInt64(c.pOut.count)), w = c.pOut.data[j]
                errors.record("\(layer.slot) P_out[\(j)]", analytic: c.dPOut!.data[j], numeric: try numeric { c.pOut.mutableData[j] = w + $0 })
            }
        }
        for _ in 0..<12 {
            let i = Int(pick.next() % UInt64(cast.head.count)), v = cast.head.data[i]
            errors.record("H[\(i)]", analytic: cast.dHead!.data[i], numeric: try numeric { cast.head.mutableData[i] = v + $0 })
        }
        #expect(errors.largestNumeric > 1e-3)
        #expect(errors.maxError < Self.bound, "\(errors)")
        print("CAST layer through tiny llama → wide qwen2: \(errors)")
    }
}

import Foundation
