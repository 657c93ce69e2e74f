/// Gated MLP (SwiGLU / GeGLU): `y = W_down·(act(W_gate·x) ⊙ W_up·x)`, weights in
/// `[out, in]` layout: `W_gate`, `W_up` are `[hidden, d]`, `W_down` is `[dOut, hidden]`.
/// Composed from `Linear` (BLAS) and `GatedActivation`.
public enum GatedMLP {
    /// What forward saves for backward. A training loop keeps one per layer and passes it
    /// to every step, so the buffers are reused.
    public struct Saved: Sendable {
        /// `W_gate·x`, `[..., hidden]`
        public internal(set) var gate = Tensor(zeros: [])
        /// `W_up·x`, `[..., hidden]`
        public internal(set) var up = Tensor(zeros: [])
        /// `act(gate) ⊙ up`, `[..., hidden]` (the input of `W_down`)
        public internal(set) var hidden = Tensor(zeros: [])
        public init() {}
    }

    /// Backward's temporary gradients (`[..., hidden]` each). Holds nothing between calls,
    /// so one instance can be shared by every layer.
    public struct Scratch: Sendable {
        var dHidden = Tensor(zeros: [])
        var dGate = Tensor(zeros: [])
        var dUp = Tensor(zeros: [])
        public init() {}
    }

    public static func forward(_ x: Tensor, gateWeight: Tensor, upWeight: Tensor, downWeight: Tensor,
                               activation: Activation, saved: inout Saved, into y: inout Tensor) throws {
        _ = try check(x, gateWeight, upWeight, downWeight, "GatedMLP.forward")
        try Linear.forward(x, weight: gateWeight, into: &saved.gate)
        try Linear.forward(x, weight: upWeight, into: &saved.up)
        try GatedActivation.forward(gate: saved.gate, up: saved.up, activation: activation, into: &saved.hidden)
        try Linear.forward(saved.hidden, weight: downWeight, into: &y)
    }

    /// Inference form: nothing kept.
    public static func forward(_ x: Tensor, gateWeight: Tensor, upWeight: Tensor, downWeight: Tensor,
                               activation: Activation) throws -> Tensor {
        var saved = Saved(), y = Tensor(zeros: [])
        try forward(x, gateWeight: gateWeight, upWeight: upWeight, downWeight: downWeight,
                    activation: activation, saved: &saved, into: &y)
        return y
    }

    /// Accumulates into `dx`, `dGateWeight`, `dUpWeight`, `dDownWeight` (nil = not needed;
    /// work for unneeded gradients is skipped). `saved` must come from the forward on this `x`.
    public static func backward(dy: Tensor, x: Tensor, gateWeight: Tensor, upWeight: Tensor,
                                downWeight: Tensor, activation: Activation, saved: Saved,
                                scratch: inout Scratch, dx: inout Tensor?, dGateWeight: inout Tensor?,
                                dUpWeight: inout Tensor?, dDownWeight: inout Tensor?) throws {
        let op = "GatedMLP.backward"
        let (rows, hiddenSize, outSize) = try check(x, gateWeight, upWeight, downWeight, op)
        let leading = Array(x.shape.dropLast())
        try dy.expectShape(leading + [outSize], op, "dy")
        for (name, t) in [("saved gate", saved.gate), ("saved up", saved.up), ("saved hidden", saved.hidden)] {
            try t.expectShape(leading + [hiddenSize], op, name)
        }
        var noDHidden: Tensor? = nil, none: Tensor? = nil
        try Linear.backward(dy: dy, x: saved.hidden, weight: downWeight,
                            dx: &noDHidden, dWeight: &dDownWeight, dBias: &none)
        let needGate = dx != nil || dGateWeight != nil
        let needUp = dx != nil || dUpWeight != nil
        guard needGate || needUp else { return }

        // dHidden = dy·W_down, overwritten (not accumulated) so the scratch needs no zeroing.
        scratch.dHidden.reuse(shape: leading + [hiddenSize])
        BLAS.sgemm(transposeA: false, transposeB: false, m: rows, n: hiddenSize, k: outSize,
                   a: dy.data, lda: outSize, b: downWeight.data, ldb: hiddenSize,
                   beta: 0, c: scratch.dHidden.mutableData, ldc: hiddenSize)
        if needGate { scratch.dGate.reuse(shape: leading + [hiddenSize]) }
        if needUp { scratch.dUp.reuse(shape: leading + [hiddenSize]) }
        GatedActivation.kernel(dy: scratch.dHidden, gate: saved.gate, up: saved.up, activation: activation,
                               dGate: needGate ? scratch.dGate.mutableData : nil,
                               dUp: needUp ? scratch.dUp.mutableData : nil, accumulate: false)
        if needGate {
            try Linear.backward(dy: scratch.dGate, x: x, weight: gateWeight,
                                dx: &dx, dWeight: &dGateWeight, dBias: &none)
        }
        if needUp {
            try Linear.backward(dy: scratch.dUp, x: x, weight: upWeight,
                                dx: &dx, dWeight: &dUpWeight, dBias: &none)
        }
    }

    /// Returns (rows, hidden, dOut) after checking that the four shapes fit together.
    private static func check(_ x: Tensor, _ gateWeight: Tensor, _ upWeight: Tensor, _ downWeight: Tensor,
                              _ op: String) throws -> (Int, Int, Int) {
        guard gateWeight.rank == 2, gateWeight.shape[0] > 0, gateWeight.shape[1] > 0 else {
            throw TensorError(op, "gate weight must be [hidden, d], got \(gateWeight.shape)")
        }
        let (hiddenSize, d) = (gateWeight.shape[0], gateWeight.shape[1])
        guard x.rank >= 1, x.shape.last == d else {
            throw TensorError.shapeMismatch(op, x.shape, gateWeight.shape,
                                            "input's last dimension must equal the gate weight's in-features")
        }
        guard upWeight.shape == gateWeight.shape else {
            throw TensorError.shapeMismatch(op, upWeight.shape, gateWeight.shape,
                                            "up weight must have the gate weight's shape")
        }
        guard downWeight.rank == 2, downWeight.shape[1] == hiddenSize else {
            throw TensorError.shapeMismatch(op, downWeight.shape, gateWeight.shape,
                                            "down weight must be [dOut, hidden] for a [hidden, d] gate weight")
        }
        return (x.count / d, hiddenSize, downWeight.shape[0])
    }
}
