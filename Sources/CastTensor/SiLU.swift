/// SiLU (swish): `y = x · σ(x)`, elementwise.
public enum SiLU: ScalarActivation {
    public static func forward(_ x: Tensor, into y: inout Tensor) {
        y.reuse(shape: x.shape)
        applyKernel(x.data, y.mutableData, count: x.count)
    }

    public static func forward(_ x: Tensor) -> Tensor {
        var y = Tensor(zeros: [])
        forward(x, into: &y)
        return y
    }

    /// Accumulates `dx += dy · σ(x)·(1 + x·(1 − σ(x)))`; nil = not needed.
    public static func backward(dy: Tensor, x: Tensor, dx: inout Tensor?) throws {
        try dy.expectShape(x.shape, "SiLU.backward", "dy")
        guard dx != nil else { return }
        try dx!.expectShape(x.shape, "SiLU.backward", "dx")
        backwardKernel(dy: dy.data, x: x.data, dx: dx!.mutableData, count: x.count)
    }

    @inline(__always)
    static func value(_ x: Float) -> Float { x * VectorMath.sigmoid(x) }

    @inline(__always)
    static func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        let s = VectorMath.sigmoid(x)
        return (x * s, s * (1 + x * (1 - s)))
    }
}
