import Testing
@testable import CastTensor

/// Global-norm clipping. Norms are accumulated in Double, so the returned norm matches a
/// Double reference to float precision (rel 1e-6) and the clipped norm equals maxNorm to
/// rel 1e-6.
@Suite struct GradientClippingTests {
    static func referenceNorm(_ grads: [Tensor]) -> Double {
        grads.reduce(0.0) { total, t in t.scalars.reduce(total) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    @Test func largeGradientsAreScaledToMaxNorm() throws {
        let original = [Tensor.randomNormal([100, 30], std: 10, seed: 1), Tensor.randomNormal([7], seed: 2),
                        Tensor.randomNormal([40_000], seed: 3)]
        var grads = original
        let before = Self.referenceNorm(original)
        let returned = try GradientClipping.clip(&grads, maxNorm: 1.5)
        #expect(abs(Double(returned) - before) <= 1e-6 * before)
        let after = Self.referenceNorm(grads)
        #expect(abs(after - 1.5) <= 1e-6 * 1.5, "clipped norm \(after)")
        // Same direction: every element scaled by the same factor.
        let scale = 1.5 / before
        for (g, o) in zip(grads, original) {
            for j in 0..<g.count {
                #expect(abs(Double(g.data[j]) - scale * Double(o.data[j])) <= 1e-6 * abs(scale * Double(o.data[j])) + 1e-12)
            }
        }
    }

    @Test func smallGradientsAreLeftAlone() throws {
        let original = [Tensor.randomNormal([5, 5], std: 0.01, seed: 4), Tensor.randomNormal([3], std: 0.01, seed: 5)]
        var grads = original
        let norm = try GradientClipping.clip(&grads, maxNorm: 1)
        #expect(grads == original)  // bit-identical
        #expect(abs(Double(norm) - Self.referenceNorm(original)) <= 1e-6 * Double(norm))
    }

    /// Fixed-size blocks summed in order: the norm of a many-block tensor agrees with a
    /// sequential Double sum to 1e-12 relative and is identical on every call.
    @Test func normIsDeterministic() throws {
        let grads = [Tensor.randomNormal([123_457], seed: 6), Tensor.randomNormal([3, 3], seed: 7)]
        let first = GradientClipping.globalNorm(grads)
        #expect(abs(first - Self.referenceNorm(grads)) <= 1e-12 * first)
        for _ in 0..<5 { #expect(GradientClipping.globalNorm(grads) == first) }
    }

    @Test func nonFiniteGradientsAreReportedNotScaled() throws {
        var grads = [Tensor([1, .nan, 3]), Tensor([100])]
        let original = grads
        let norm = try GradientClipping.clip(&grads, maxNorm: 1)
        #expect(norm.isNaN)
        #expect(grads[1] == original[1])
        var infinite = [Tensor([.infinity, 1])]
        #expect(try GradientClipping.clip(&infinite, maxNorm: 1) == .infinity)
        #expect(infinite[0].data[1] == 1)
    }

    @Test func invalidMaxNormThrows() {
        for bad: Float in [0, -1, .nan, .infinity] {
            var grads = [Tensor([1, 2])]
            #expect { try GradientClipping.clip(&grads, maxNorm: bad) } throws: { "\($0)".contains("maxNorm") }
        }
    }

    @Test func emptyListHasZeroNorm() throws {
        var grads: [Tensor] = []
        #expect(try GradientClipping.clip(&grads, maxNorm: 1) == 0)
    }
}
