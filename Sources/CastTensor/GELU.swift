/// GELU, tanh approximation (GGML `gelu`, HF `gelu_pytorch_tanh`), elementwise:
/// `y = ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))`.
///
/// Computed as `x · σ(2u)` with `u = √(2/π)·(x + 0.044715x³)`, since ½(1 + tanh u) = σ(2u).
public enum GELU: ScalarActivation {
    public static func forward(_ x: Tensor, into y: inout Tensor) { elementwiseForward(x, into: &y) }

    public static func forward(_ x: Tensor) -> Tensor { elementwiseForward(x) }

    /// Accumulates `dx += dy · gelu′(x)`; nil = not needed.
    public static func backward(dy: Tensor, x: Tensor, dx: inout Tensor?) throws {
        try elementwiseBackward(dy: dy, x: x, dx: &dx)
    }

    /// 2·√(2/π) and the cubic coefficient.
    private static let twoC: Float = 1.595_769_121_605_730_7
    private static let cubic: Float = 0.044_715

    @inline(__always)
    static func value(_ x: Float) -> Float {
        let x2 = x * x
        return x * VectorMath.sigmoid(twoC * (x + cubic * x2 * x))
    }

    @inline(__always)
    static func values(_ x: VectorMath.Lanes) -> VectorMath.Lanes {
        let x2 = x * x
        return x * VectorMath.sigmoid(twoC * (x + cubic * x2 * x))
    }

    @inline(__always)
    static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        let x2 = x * x
        let s = VectorMath.sigmoid(twoC * (x + cubic * x2 * x))
        // d/dx x·σ(v) = σ + x·σ(1−σ)·v′, v′ = 2c(1 + 3·0.044715x²)
        return (x * s, s + x * s * (1 - s) * twoC * (1 + 3 * cubic * x2))
    }
}
