/// The nonlinearity of a gated MLP: `silu` (SwiGLU: llama, qwen2) or `geluTanh`
/// (GeGLU: gemma3; the tanh approximation of GGML and HF `gelu_pytorch_tanh`).
public enum Activation: String, Sendable, CaseIterable {
    case silu
    case geluTanh
}

/// An elementwise activation as scalar functions that the kernels inline; `SiLU` and
/// `GELU` conform, and the generic loops below are specialised for each of them.
protocol ScalarActivation {
    static func value(_ x: Float) -> Float
    /// `value` on 8 lanes, with the same float operations (so the same bits).
    static func values(_ x: VectorMath.Lanes) -> VectorMath.Lanes
    /// f(x) and f′(x), sharing one exponential.
    static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float)
}

extension ScalarActivation {
    /// The public `forward(_:into:)` of an elementwise activation: y = f(x), resized to x.
    static func elementwiseForward(_ x: Tensor, into y: inout Tensor) {
        y.reuse(shape: x.shape)
        applyKernel(x.data, y.mutableData, count: x.count)
    }

    static func elementwiseForward(_ x: Tensor) -> Tensor {
        var y = Tensor(zeros: [])
        elementwiseForward(x, into: &y)
        return y
    }

    /// The public `backward`: checks shapes, then accumulates `dx += dy · f′(x)`; errors
    /// name the op as `<Type>.backward`.
    static func elementwiseBackward(dy: Tensor, x: Tensor, dx: inout Tensor?) throws {
        let op = "\(Self.self).backward"
        try dy.expectShape(x.shape, op, "dy")
        guard dx != nil else { return }
        try dx!.expectShape(x.shape, op, "dx")
        backwardKernel(dy: dy.data, x: x.data, dx: dx!.mutableData, count: x.count)
    }

    /// y = f(x) over `count` elements.
    static func applyKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: VectorMath.elementwiseGrain) { range in
            var i = range.lowerBound
            while i + VectorMath.width <= range.upperBound {
                VectorMath.store(values(VectorMath.load(x + i)), y + i)
                i += VectorMath.width
            }
            while i < range.upperBound { y[i] = value(x[i]); i += 1 }
        }
    }

    /// dx += dy · f′(x)
    static func backwardKernel(dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                               dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: VectorMath.elementwiseGrain) { range in
            for i in range { dx[i] += dy[i] * valueAndDerivative(x[i]).derivative }
        }
    }

    /// out = f(gate) ⊙ up
    static func gatedKernel(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                            out: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: VectorMath.elementwiseGrain) { range in
            var i = range.lowerBound
            while i + VectorMath.width <= range.upperBound {
                VectorMath.store(values(VectorMath.load(gate + i)) * VectorMath.load(up + i), out + i)
                i += VectorMath.width
            }
            while i < range.upperBound { out[i] = value(gate[i]) * up[i]; i += 1 }
        }
    }

    /// dGate (+)= dy·up·f′(gate), dUp (+)= dy·f(gate); `accumulate` false overwrites (used for
    /// scratch buffers, which then need no zeroing). Either output may be nil.
    static func gatedBackwardKernel(dy: UnsafePointer<Float>, gate: UnsafePointer<Float>,
                                    up: UnsafePointer<Float>, dGate: UnsafeMutablePointer<Float>?,
                                    dUp: UnsafeMutablePointer<Float>?, count: Int, accumulate: Bool) {
        // Separate loops per case keep each one branch-free (and so vectorised).
        Parallel.forEach(count, grain: VectorMath.elementwiseGrain) { range in
            switch (dGate, dUp, accumulate) {
            case let (dg?, du?, true):
                for i in range {
                    let (f, df) = valueAndDerivative(gate[i])
                    dg[i] += dy[i] * up[i] * df
                    du[i] += dy[i] * f
                }
            case let (dg?, du?, false):
                for i in range {
                    let (f, df) = valueAndDerivative(gate[i])
                    dg[i] = dy[i] * up[i] * df
                    du[i] = dy[i] * f
                }
            case let (dg?, nil, true):
                for i in range { dg[i] += dy[i] * up[i] * valueAndDerivative(gate[i]).derivative }
            case let (dg?, nil, false):
                for i in range { dg[i] = dy[i] * up[i] * valueAndDerivative(gate[i]).derivative }
            case let (nil, du?, true):
                for i in range { du[i] += dy[i] * value(gate[i]) }
            case let (nil, du?, false):
                for i in range { du[i] = dy[i] * value(gate[i]) }
            case (nil, nil, _):
                break
            }
        }
    }
}
