/// The fused middle of SwiGLU / GeGLU: `out = act(gate) ⊙ up`, elementwise over two
/// tensors of the same shape. Backward needs only the forward's inputs, so nothing extra
/// is saved.
public enum GatedActivation {
    public static func forward(gate: Tensor, up: Tensor, activation: Activation,
                               into out: inout Tensor) throws {
        try checkSameShape(gate, up, "GatedActivation.forward")
        out.reuse(shape: gate.shape)
        let (g, u, o, n) = (gate.data, up.data, out.mutableData, gate.count)
        switch activation {
        case .silu: SiLU.gatedKernel(gate: g, up: u, out: o, count: n)
        case .geluTanh: GELU.gatedKernel(gate: g, up: u, out: o, count: n)
        }
    }

    public static func forward(gate: Tensor, up: Tensor, activation: Activation) throws -> Tensor {
        var out = Tensor(zeros: [])
        try forward(gate: gate, up: up, activation: activation, into: &out)
        return out
    }

    /// Accumulates `dGate += dy·up·act′(gate)` and `dUp += dy·act(gate)` (nil = not needed).
    public static func backward(dy: Tensor, gate: Tensor, up: Tensor, activation: Activation,
                                dGate: inout Tensor?, dUp: inout Tensor?) throws {
        try checkSameShape(gate, up, "GatedActivation.backward")
        try dy.expectShape(gate.shape, "GatedActivation.backward", "dy")
        if dGate != nil { try dGate!.expectShape(gate.shape, "GatedActivation.backward", "dGate") }
        if dUp != nil { try dUp!.expectShape(gate.shape, "GatedActivation.backward", "dUp") }
        kernel(dy: dy, gate: gate, up: up, activation: activation,
               dGate: dGate == nil ? nil : dGate!.mutableData,
               dUp: dUp == nil ? nil : dUp!.mutableData, accumulate: true)
    }

    /// The backward kernel on already-checked shapes; `accumulate: false` overwrites, for
    /// callers (GatedMLP) whose gradient buffers are scratch.
    static func kernel(dy: Tensor, gate: Tensor, up: Tensor, activation: Activation,
                       dGate: UnsafeMutablePointer<Float>?, dUp: UnsafeMutablePointer<Float>?,
                       accumulate: Bool) {
        let (d, g, u, n) = (dy.data, gate.data, up.data, gate.count)
        switch activation {
        case .silu:
            SiLU.gatedBackwardKernel(dy: d, gate: g, up: u, dGate: dGate, dUp: dUp, count: n,
                                     accumulate: accumulate)
        case .geluTanh:
            GELU.gatedBackwardKernel(dy: d, gate: g, up: u, dGate: dGate, dUp: dUp, count: n,
                                     accumulate: accumulate)
        }
    }

    private static func checkSameShape(_ gate: Tensor, _ up: Tensor, _ op: String) throws {
        guard gate.shape == up.shape else {
            throw TensorError.shapeMismatch(op, gate.shape, up.shape, "gate and up must have the same shape")
        }
    }
}
