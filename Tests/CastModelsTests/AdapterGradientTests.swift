import CastTestSupport
import CastTensor
import Testing
@testable import CastModels

/// A plain low-rank adapter for tests: `y += B·(A·x)` with `A [rank, in]`, `B [out, rank]`.
/// It saves nothing (backward recomputes `A·x`) and accumulates `dA`, `dB`.
final class LowRankTestAdapter: LinearAdapter {
    var a: Tensor, b: Tensor
    var dA: Tensor?, dB: Tensor?
    var inputWidth: Int { a.shape[1] }
    var outputWidth: Int { b.shape[0] }
    var isTrainable: Bool { true }

    /// Both factors random (B too, unlike LoRA's zero start) so both gradients are non-zero.
    init(input: Int, output: Int, rank: Int = 2, seed: UInt64) {
        a = Tensor.randomNormal([rank, input], std: 0.3, seed: seed)
        b = Tensor.randomNormal([output, rank], std: 0.3, seed: seed &+ 1)
        dA = Tensor(zeros: a.shape)
        dB = Tensor(zeros: b.shape)
    }

    func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws {
        try y.add(try Linear.forward(try Linear.forward(x, weight: a), weight: b))
    }

    func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws {
        let u = try Linear.forward(x, weight: a)
        var du: Tensor? = Tensor(zeros: u.shape)
        var noBias: Tensor? = nil
        try Linear.backward(dy: dy, x: u, weight: b, dx: &du, dWeight: &dB, dBias: &noBias)
        try Linear.backward(dy: du!, x: x, weight: a, dx: &dx, dWeight: &dA, dBias: &noBias)
    }
}

/// Finite-difference checks of the adapter hooks of `DecoderLayer` (forward adds the adapter's
/// output, backward hands it `dy` and collects its `dx`), with the model's weights frozen.
/// Loss, step and error as in `TransformerBackwardTests` (`ModelGradCheck`).
@Suite("Adapter hooks: gradient checks on tiny models")
struct AdapterGradientTests {
    static let bound = TransformerBackwardTests.bound

    /// A fresh adapter for each slot, in slot order.
    static func make(_ slots: [AdapterSlot], for model: Transformer, seed: UInt64 = 100) -> [LowRankTestAdapter] {
        slots.enumerated().map { k, slot in
            let s = slot.module.shape(in: model.config)
            return LowRankTestAdapter(input: s.input, output: s.output, seed: seed + UInt64(k))
        }
    }

    static func set(_ slots: [AdapterSlot], _ adapters: [LowRankTestAdapter]) -> AdapterSet {
        AdapterSet(Dictionary(uniqueKeysWithValues: zip(slots, adapters.map { $0 as any LinearAdapter })))
    }

    /// Checks the adapters' `dA`, `dB` (at most `samples` elements of each, all when they
    /// have fewer) and `dEmbeddings` (`inputSamples` elements) against central differences.
    static func check(_ model: Transformer, slots: [AdapterSlot], adapters: [LowRankTestAdapter],
                      samples: Int, inputSamples: Int) throws {
        var check = ModelGradCheck(model: model)
        check.adapters = set(slots, adapters)
        let dEmbeddings = try check.analytic(trainable: { _ in false }).dEmbeddings
        var rng = SeededGenerator(seed: 47)
        var all = GradientErrors()
        for (slot, adapter) in zip(slots, adapters) {
            for (label, count) in [("A", adapter.a.count), ("B", adapter.b.count)] {
                var errors = GradientErrors()
                let indices = count <= samples ? Array(0..<count)
                    : (0..<samples).map { _ in Int(rng.next() % UInt64(count)) }
                for i in indices {
                    let numeric: Double
                    if label == "A" {
                        let original = adapter.a.data[i]
                        numeric = try check.centralDifference(check.loss) { adapter.a.mutableData[i] = original + $0 }
                    } else {
                        let original = adapter.b.data[i]
                        numeric = try check.centralDifference(check.loss) { adapter.b.mutableData[i] = original + $0 }
                    }
                    let analytic = (label == "A" ? adapter.dA! : adapter.dB!).data[i]
                    errors.record("\(slot) \(label)[\(i)]", analytic: analytic, numeric: numeric)
                }
                #expect(errors.largestNumeric > 1e-2, "\(model.name) \(slot) d\(label): gradients too small")
                #expect(errors.maxError < bound, "\(model.name) \(slot) d\(label): \(errors)")
                all.merge(errors)
            }
        }
        print("\(model.name) adapters \(slots.map(\.description)): \(all)")
        let inputs = (0..<inputSamples).map { _ in Int(rng.next() % UInt64(dEmbeddings.count)) }
        let errors = try check.inputGradientErrors(dEmbeddings, elements: inputs)
        print("\(model.name) dEmbeddings with adapters: \(errors)")
        #expect(errors.pathMismatch == 0, "the test-only forward path differs from the model's")
        #expect(errors.maxError < bound, "\(model.name) dEmbeddings with adapters: \(errors)")
    }

    /// Adapters on layer 1's query and down projections (for gemma3 a global layer with head
    /// dim 8, query width 32): every element of both factors of both adapters, and 96
    /// elements of `dEmbeddings`. Bound: `bound`.
    @Test(arguments: [Architecture.llama, .gemma3])
    func queryAndDownAdapters(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let slots = [AdapterSlot(layer: 1, module: .query), AdapterSlot(layer: 1, module: .down)]
        let adapters = Self.make(slots, for: model)
        try Self.check(model, slots: slots, adapters: adapters, samples: 100, inputSamples: 96)
    }

    /// Adapters on every projection of layer 0 at once (gpt2 has no gate): 8 elements of each
    /// factor and 32 of `dEmbeddings`. Bound: `bound`.
    @Test(arguments: Architecture.allCases)
    func adaptersOnEveryProjection(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let modules = LinearModule.allCases.filter { $0 != .gate || model.weights.layers[0].gate != nil }
        let slots = modules.map { AdapterSlot(layer: 0, module: $0) }
        let adapters = Self.make(slots, for: model)
        try Self.check(model, slots: slots, adapters: adapters, samples: 8, inputSamples: 32)
    }
}
