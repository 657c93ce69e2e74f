import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Testing

/// Counts its backward calls; adds nothing, trains nothing.
final class CountingAdapter: LinearAdapter {
    let inputWidth: Int, outputWidth: Int
    var backwardCalls = 0
    init(_ shape: (output: Int, input: Int)) { inputWidth = shape.input; outputWidth = shape.output }
    var isTrainable: Bool { false }
    func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws {}
    func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws { backwardCalls += 1 }
}

@Suite("Forward options: padding, early stop, no output head, bounded backward")
struct ForwardOptionsTests {
    /// Sequences of 7, 3 and 5 tokens in one right-padded batch: every real row's logits and
    /// hidden state equal those of its sequence run alone.
    @Test(arguments: Architecture.allCases)
    func paddedBatchRowsEqualEachSequenceAlone(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj", "c_attn"]),
                                   seed: 1, bStd: 0.3)
        let long = TinyModels.sequences(batch: 1, tokens: 7, seed: 3)[0]
        let sequences = [long, Array(long.prefix(3)).reversed(), Array(long.suffix(5))]
        var batched = ForwardPass()
        try model.forward(sequences, pass: &batched, training: false, adapters: lora.adapters)
        #expect(batched.tokens == 7 && batched.hasPadding)
        let v = model.config.vocabularySize
        var worst: Float = 0
        for (s, sequence) in sequences.enumerated() {
            var alone = ForwardPass()
            try model.forward([sequence], pass: &alone, training: false, adapters: lora.adapters)
            for t in 0..<sequence.count {
                for j in 0..<v {
                    worst = max(worst, abs(batched.logits.data[(s * 7 + t) * v + j] - alone.logits.data[t * v + j]))
                }
            }
            #expect(batched.isPadding(row: s * 7 + sequence.count) == (sequence.count < 7))
        }
        #expect(worst <= 1e-5, "\(architecture): padded rows differ by \(worst)")
    }

    /// The gradient of a padded batch is the sum of its sequences' gradients (padding rows
    /// ignored even though the loss gradient given for them is not zero).
    @Test func paddedBatchGradientIsTheSumOfItsSequences() throws {
        let model = try TinyModels.model(.llama)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["v_proj", "up_proj"]),
                                   seed: 2, bStd: 0.3)
        let sequences = [TinyModels.sequences(batch: 1, tokens: 6, seed: 4)[0], TinyModels.sequences(batch: 1, tokens: 2, seed: 5)[0]]
        let batch = LossProbe(model: model, sequences: sequences)
        try batch.backward(lora.adapters)
        let together = lora.modules.map { $0.factors.dB!.scalars + $0.factors.dA!.scalars }
        lora.zeroGradients()
        // Each sequence alone, with the rows of the batch's random loss that belong to it.
        let v = model.config.vocabularySize, d = model.config.hiddenSize
        for (s, sequence) in sequences.enumerated() {
            var pass = ForwardPass()
            try model.forward([sequence], pass: &pass, training: true, adapters: lora.adapters)
            let n = sequence.count
            var r1 = Tensor(zeros: [n, v]), r2 = Tensor(zeros: [n, d])
            r1.mutableData.update(from: batch.r1.data + s * 6 * v, count: n * v)
            r2.mutableData.update(from: batch.r2.data + s * 6 * d, count: n * d)
            var g = ModelGradients.frozen(model.weights), none: Tensor? = nil
            try model.backward(&pass, dLogits: r1, dHidden: r2, gradients: &g, dEmbeddings: &none)
        }
        let separate = lora.modules.map { $0.factors.dB!.scalars + $0.factors.dA!.scalars }
        for (a, b) in zip(together, separate) {
            let worst = zip(a, b).map { abs($0 - $1) }.max()!, scale = b.map(abs).max()!
            #expect(worst <= 1e-5 * max(1, scale), "padded gradient differs by \(worst) (scale \(scale))")
        }
    }

    /// Logits at chosen rows (`logitRows`) are those rows of the full logits, and their
    /// backward gives the full path's gradient, padding rows ignored in both.
    @Test func logitRowsMatchTheFullHead() throws {
        let model = try TinyModels.model(.gemma3)  // softcap: backward reads the logits too
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["v_proj", "down_proj"]),
                                   seed: 6, bStd: 0.3)
        let sequences = [TinyModels.sequences(batch: 1, tokens: 6, seed: 7)[0], TinyModels.sequences(batch: 1, tokens: 3, seed: 8)[0]]
        let rows = [11, 0, 4, 7, 9, 2]  // 9, 10, 11 are the second sequence's padding
        let v = model.config.vocabularySize
        let dFull = Tensor.randomNormal([12, v], seed: 9)
        var dChosen = Tensor(zeros: [rows.count, v])
        for (k, row) in rows.enumerated() { (dChosen.mutableData + k * v).update(from: dFull.data + row * v, count: v) }
        var mask = Tensor(zeros: [12, v])  // the full path gets dLogits only at the chosen rows
        for row in rows { (mask.mutableData + row * v).update(from: dFull.data + row * v, count: v) }

        func gradients(_ options: ForwardOptions, _ dLogits: Tensor) throws -> (logits: Tensor, grads: [Float]) {
            lora.zeroGradients()
            var pass = ForwardPass()
            try model.forward(sequences, options: options, pass: &pass)
            var g = ModelGradients.frozen(model.weights), none: Tensor? = nil
            try model.backward(&pass, dLogits: dLogits, dHidden: nil, gradients: &g, dEmbeddings: &none)
            return (pass.logits, lora.modules.flatMap { $0.factors.dA!.scalars + $0.factors.dB!.scalars })
        }
        let full = try gradients(ForwardOptions(adapters: lora.adapters, training: true), mask)
        let chosen = try gradients(ForwardOptions(adapters: lora.adapters, training: true, logitRows: rows), dChosen)
        // The head over 6 gathered rows is a different sgemm shape from the head over all 12:
        // BLAS may round them differently (OpenBLAS's Haswell/Zen kernels do), so compare
        // with a bound scaled to the logits, one that a wrong row breaks by far.
        let logitScale = max(1, full.logits.scalars.map(abs).max()!)
        func worstLogitDifference(_ fullRows: [Int]) -> Float {
            var worst: Float = 0
            for (k, row) in fullRows.enumerated() {
                for j in 0..<v { worst = max(worst, abs(chosen.logits.data[k * v + j] - full.logits.data[row * v + j])) }
            }
            return worst
        }
        let logitDifference = worstLogitDifference(rows)
        #expect(logitDifference <= 1e-5 * logitScale, "logitRows logits differ by \(logitDifference) (scale \(logitScale))")
        var swapped = rows
        swapped.swapAt(1, 2)  // rows 0 and 4 of the first sequence: a wrong row
        #expect(worstLogitDifference(swapped) > 100 * 1e-5 * logitScale, "the bound must catch a wrong row")
        let worst = zip(chosen.grads, full.grads).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5 * max(1, full.grads.map(abs).max()!), "logitRows gradient differs by \(worst)")
        #expect(full.grads.contains { $0 != 0 })
    }

    /// `lastLayer` stops after that layer (same residual stream, no hidden, no logits);
    /// `logits: false` keeps the hidden states and skips the head.
    @Test func earlyStopAndNoOutputHead() throws {
        let model = try TinyModels.model(.gemma3)
        let sequences = TinyModels.sequences()
        var full = ForwardPass(), stopped = ForwardPass(), headless = ForwardPass()
        try model.forward(sequences, options: ForwardOptions(), pass: &full)
        try model.forward(sequences, options: ForwardOptions(lastLayer: 1), pass: &stopped)
        try model.forward(sequences, options: ForwardOptions(logits: false), pass: &headless)
        #expect(stopped.residualStream(atLayer: 2).scalars == full.residualStream(atLayer: 2).scalars)
        #expect(stopped.logits.count == 0 && stopped.hidden.count == 0)
        #expect(headless.hidden.scalars == full.hidden.scalars)
        #expect(headless.logits.count == 0)
        #expect(throws: ModelError.self) {
            try model.forward(sequences, options: ForwardOptions(lastLayer: 3), pass: &stopped)
        }
    }

    /// With the only trainable adapter on layer 1, backward never reaches layer 0 (its
    /// adapter's backward is not called), and the gradient is the same as a full backward's.
    @Test func backwardStopsBelowTheLowestTrainableLayer() throws {
        let model = try TinyModels.model(.llama)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj"], layers: [1]),
                                   seed: 3, bStd: 0.3)
        let counter = CountingAdapter(LinearModule.down.shape(in: model.config))
        let upperCounter = CountingAdapter(LinearModule.down.shape(in: model.config))
        let adapters = try lora.adapters.adding(AdapterSet([AdapterSlot(layer: 0, module: .down): counter,
                                                            AdapterSlot(layer: 1, module: .down): upperCounter]))
        let probe = LossProbe(model: model)
        try probe.backward(adapters)
        let bounded = lora.modules[0].factors.dA!.scalars
        #expect(counter.backwardCalls == 0, "backward went below layer 1")
        #expect(upperCounter.backwardCalls == 1)
        lora.zeroGradients()
        try probe.backward(adapters, dEmbeddings: true)
        #expect(counter.backwardCalls == 1, "with dEmbeddings asked for, backward must reach layer 0")
        #expect(lora.modules[0].factors.dA!.scalars == bounded)
    }
}
