import Testing
@testable import CastTensor

/// Finite-difference gradient checking.
///
/// The loss is `L = Σ out ⊙ R` for a fixed random `R`, so `dL/dout = R` is what the backward
/// under test receives. Each input element is nudged by ±h and the central difference
/// (computed in Double) is compared with the analytic gradient:
/// `|analytic − numeric| ≤ tolerance · max(1, |numeric|)` for every element checked.
enum GradCheck {
    struct Result {
        var maxError: Float
        var worst: String
    }

    /// `forward` maps the inputs to an output tensor; `backward` receives `dOut` and the
    /// inputs and returns the gradient for each input (same order, same shapes).
    static func check(inputs: [Tensor], seed: UInt64 = 7, step h: Float = 1e-2,
                      maxElementsPerInput: Int = 64,
                      forward: ([Tensor]) throws -> Tensor,
                      backward: (_ dOut: Tensor, _ inputs: [Tensor]) throws -> [Tensor]) throws -> Result {
        let out = try forward(inputs)
        let r = Tensor.randomNormal(out.shape, seed: seed &+ 1)
        let analytic = try backward(r, inputs)
        #expect(analytic.count == inputs.count)
        func loss(_ xs: [Tensor]) throws -> Double {
            let o = try forward(xs)
            var s = 0.0
            for i in 0..<o.count { s += Double(o.data[i]) * Double(r.data[i]) }
            return s
        }
        var result = Result(maxError: 0, worst: "")
        var rng = SeededGenerator(seed: seed)
        for (which, input) in inputs.enumerated() {
            #expect(analytic[which].shape == input.shape, "gradient \(which) has the wrong shape")
            // Check every element of small inputs, a random sample of large ones.
            let indices = input.count <= maxElementsPerInput
                ? Array(0..<input.count)
                : (0..<maxElementsPerInput).map { _ in Int(rng.next() % UInt64(input.count)) }
            for i in indices {
                var plus = inputs, minus = inputs
                plus[which].mutableData[i] += h
                minus[which].mutableData[i] -= h
                let numeric = Float((try loss(plus) - loss(minus)) / Double(2 * h))
                let error = abs(analytic[which].data[i] - numeric) / max(1, abs(numeric))
                if error > result.maxError {
                    result.maxError = error
                    result.worst = "input \(which) element \(i): analytic \(analytic[which].data[i]) numeric \(numeric)"
                }
            }
        }
        return result
    }
}

/// Naive double-precision references for forward checks.
enum Reference {
    static func maxAbsDiff(_ a: Tensor, _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var m = 0.0
        for i in 0..<a.count { m = max(m, abs(Double(a.data[i]) - b[i])) }
        return m
    }
}
