/// Global-norm gradient clipping: when ‖(g₁, …, gₙ)‖₂ over all gradients together exceeds
/// `maxNorm`, every gradient is scaled by the same factor so the global norm becomes
/// `maxNorm`; otherwise nothing changes.
public enum GradientClipping {
    /// Elements per partial sum. Fixed (not tied to the thread count), so the norm is
    /// bit-identical on any number of cores.
    static let blockSize = 8192

    /// Clips `gradients` in place and returns the global norm measured before clipping.
    ///
    /// A non-finite norm (a NaN or infinite gradient) is returned as is and the gradients
    /// are left untouched, so the caller can see it and skip the step.
    /// Throws when `maxNorm` is not a finite positive number.
    @discardableResult
    public static func clip(_ gradients: inout [Tensor], maxNorm: Float) throws -> Float {
        guard maxNorm.isFinite && maxNorm > 0 else {
            throw TensorError("GradientClipping.clip", "maxNorm must be finite and > 0, got \(maxNorm)")
        }
        let norm = globalNorm(gradients)
        guard norm.isFinite, norm > Double(maxNorm) else { return Float(norm) }
        let scale = Float(Double(maxNorm) / norm)
        for i in gradients.indices {
            let g = gradients[i].mutableData
            Parallel.forEach(gradients[i].count, grain: 16_384) { range in
                for j in range { g[j] *= scale }
            }
        }
        return Float(norm)
    }

    /// √(Σ g²) over every element of every tensor, accumulated in Double: one partial sum
    /// per fixed-size block, combined in order.
    public static func globalNorm(_ gradients: [Tensor]) -> Double {
        var total = 0.0
        for tensor in gradients {
            let n = tensor.count, g = tensor.data
            let blocks = (n + blockSize - 1) / blockSize
            guard blocks > 0 else { continue }
            var partials = [Double](repeating: 0, count: blocks)
            partials.withUnsafeMutableBufferPointer { out in
                let out = out.baseAddress!
                Parallel.forEach(blocks, grain: 2) { range in
                    for b in range {
                        var s = 0.0
                        for j in (b * blockSize)..<min(n, (b + 1) * blockSize) {
                            let x = Double(g[j])
                            s += x * x
                        }
                        out[b] = s
                    }
                }
            }
            for s in partials { total += s }
        }
        return total.squareRoot()
    }
}
