/// SiLU (swish): `y = x · σ(x)`, elementwise.
public enum SiLU: ScalarActivation {
    public static func forward(_ x: Tensor, into y: inout Tensor) { elementwiseForward(x, into: &y) }

    public static func forward(_ x: Tensor) -> Tensor { elementwiseForward(x) }

    /// Accumulates `dx += dy · σ(x)·(1 + x·(1 − σ(x)))`; nil = not needed.
    public static func backward(dy: Tensor, x: Tensor, dx: inout Tensor?) throws {
        try elementwiseBackward(dy: dy, x: x, dx: &dx)
    }

    @inline(__always)
    static func value(_ x: Float) -> Float { x * VectorMath.sigmoid(x) }

    @inline(__always)
    static func values(_ x: VectorMath.Lanes) -> VectorMath.Lanes { x * VectorMath.sigmoid(x) }

    @inline(__always)
    static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        let s = VectorMath.sigmoid(x)
        return (x * s, s * (1 + x * (1 - s)))
    }
}
