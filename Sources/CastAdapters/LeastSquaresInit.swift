import CastModels
import CastTensor

/// Records what a projection reads and writes in a forward pass, changing nothing: the
/// tap least-squares initialisation (and activation capture) puts on a slot.
final class ProjectionTap: LinearAdapter {
    let inputWidth: Int
    let outputWidth: Int
    var isTrainable: Bool { false }
    private(set) var x = Tensor()
    private(set) var y = Tensor()

    init(inputWidth: Int, outputWidth: Int) {
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
    }

    func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws {
        self.x = x
        self.y = y
    }

    func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws {}
}

/// How well the least-squares maps fit the paired activations they were solved on: R² per
/// CAST layer of `P_in`, of `P_in` as the source LoRA reads it (`A·P_in·x_t` against
/// `A·x_s`: R² pools every dimension, so it is dominated by the few large-variance ones,
/// which need not be those A reads), of `P_out`, and of `H`. A low R² says the two models'
/// spaces are not linearly related there on this text, so the start it gives carries little.
public struct LeastSquaresFit: Sendable {
    public let inputs: [Double?]
    public let inputsThroughA: [Double?]
    public let outputs: [Double?]
    public let head: Double?

    /// "R² P_in mean 0.872 (min 0.841), through A mean 0.41 (min 0.12), P_out …, H 0.885".
    public var summary: String {
        func stats(_ values: [Double?]) -> String {
            let known = values.compactMap { $0 }
            guard let low = known.min() else { return "n/a" }
            return String(format: "mean %.3f (min %.3f)", known.reduce(0, +) / Double(known.count), low)
        }
        return "R² P_in \(stats(inputs)), through A \(stats(inputsThroughA)), P_out \(stats(outputs)), "
            + "H \(head.map { String(format: "%.3f", $0) } ?? "n/a")"
    }
}

extension CastAdapter {
    /// Sets every P and H by ridge least squares on paired activations of the bare source
    /// and target over `windows` training windows of `corpus` (read in batches of 4, in
    /// the order `seed` gives): `P_in` maps the target projection's inputs to the source's,
    /// `P_out` the source projection's outputs (its rows of them) to the target's, `H` the
    /// target's final hidden states to the source's. Only the sums `XᵀX`, `XᵀY` are kept.
    /// `progress(done, total)` counts windows read; when `shouldStop` says so between
    /// batches, it returns nil and leaves every P and H as it was. Returns how well each map
    /// fits the rows it was solved on.
    @discardableResult
    public func initializeByLeastSquares(source: Transformer, target: Transformer, corpus: PairedCorpus,
                                         windows: Int, seed: UInt64, ridge: Float = 1e-3,
                                         shouldStop: () -> Bool = { false },
                                         progress: (Int, Int) -> Void = { _, _ in }) throws -> LeastSquaresFit? {
        var sourceTaps: [AdapterSlot: ProjectionTap] = [:], targetTaps: [AdapterSlot: ProjectionTap] = [:]
        for layer in layers {
            let s = layer.sourceSlot.module.shape(in: source.config), t = layer.slot.module.shape(in: target.config)
            if sourceTaps[layer.sourceSlot] == nil { sourceTaps[layer.sourceSlot] = ProjectionTap(inputWidth: s.input, outputWidth: s.output) }
            targetTaps[layer.slot] = ProjectionTap(inputWidth: t.input, outputWidth: t.output)
        }
        var inputs = layers.map { RidgeRegression(inputs: $0.cast.inputWidth, outputs: $0.cast.source.inputWidth, view: $0.cast.source.a) }
        var outputs = layers.map { RidgeRegression(inputs: $0.cast.sourceRows.count, outputs: $0.cast.outputWidth) }
        var hidden = RidgeRegression(inputs: target.config.hiddenSize, outputs: source.config.hiddenSize)
        var sourcePass = ForwardPass(), targetPass = ForwardPass()
        let batch = 4
        for chunk in 0..<(windows + batch - 1) / batch {
            if shouldStop() { return nil }
            let ws = corpus.batch(step: chunk, size: min(batch, windows - chunk * batch), seed: seed ^ 0x1EA5)
            let rows = CastTrainer.alignedRows(ws)
            guard !rows.teacher.isEmpty else { continue }
            try source.forward(ws.map(\.teacher), options: ForwardOptions(adapters: AdapterSet(sourceTaps), logits: false),
                               pass: &sourcePass)
            try target.forward(ws.map(\.student), options: ForwardOptions(adapters: AdapterSet(targetTaps), logits: false),
                               pass: &targetPass)
            for (k, layer) in layers.enumerated() {
                let s = sourceTaps[layer.sourceSlot]!, t = targetTaps[layer.slot]!
                try inputs[k].add(x: CastTrainer.rows(t.x, rows.student), y: CastTrainer.rows(s.x, rows.teacher))
                let sourceOut = Self.columns(CastTrainer.rows(s.y, rows.teacher), layer.cast.sourceRows)
                try outputs[k].add(x: sourceOut, y: CastTrainer.rows(t.y, rows.student))
            }
            try hidden.add(x: CastTrainer.rows(targetPass.hidden, rows.student), y: CastTrainer.rows(sourcePass.hidden, rows.teacher))
            progress(min((chunk + 1) * batch, windows), windows)
        }
        guard hidden.rows > 0 else { throw AdapterError("least-squares init: no aligned positions in \(windows) corpus windows") }
        var inputFit: [Double?] = [], throughA: [Double?] = [], outputFit: [Double?] = []
        for (k, layer) in layers.enumerated() {
            layer.cast.pIn = try inputs[k].solve(ridge: ridge)
            layer.cast.pOut = try outputs[k].solve(ridge: ridge)
            inputFit.append(try inputs[k].explainedVariance(by: layer.cast.pIn))
            throughA.append(try inputs[k].explainedVariance(by: layer.cast.pIn, throughView: true))
            outputFit.append(try outputs[k].explainedVariance(by: layer.cast.pOut))
        }
        head = try hidden.solve(ridge: ridge)
        return LeastSquaresFit(inputs: inputFit, inputsThroughA: throughA, outputs: outputFit,
                               head: try hidden.explainedVariance(by: head))
    }

    /// Columns `range` of a `[n, width]` tensor.
    static func columns(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let width = x.shape[1], n = x.shape[0]
        guard range != 0..<width else { return x }
        var out = Tensor(zeros: [n, range.count])
        for r in 0..<n { (out.mutableData + r * range.count).update(from: x.data + r * width + range.lowerBound, count: range.count) }
        return out
    }
}
