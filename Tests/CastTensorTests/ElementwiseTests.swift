import Foundation
import Testing
@testable import CastTensor

@Suite struct ElementwiseTests {
    /// Shape pairs covering the plan's cases: same shape, trailing vector (bias), column ×
    /// row, interleaved broadcasts, scalars, empty dimensions, and sizes that take the
    /// parallel paths (flat and per-row).
    static let shapePairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]), ([5, 7], [7]), ([7], [5, 7]), ([4, 1], [1, 6]), ([2, 3, 4], [3, 1]),
        ([2, 1, 4], [1, 3, 1]), ([3, 4], [1]), ([], [2, 3]), ([2, 3], []), ([2, 0, 3], [3]),
        ([1, 1], [1]), ([600, 130], [130]), ([70_000], [70_000]), ([2, 40_000], [2, 1]),
    ]

    /// Bound: relative error ≤ 1e-6 (each element is one correctly rounded float operation).
    @Test func binaryFunctionsMatchDoubleLoop() throws {
        let functions: [(BinaryFunction, (Double, Double) -> Double)] = [
            (.add, +), (.subtract, -), (.multiply, *), (.divide, /),
        ]
        for (seed, (sa, sb)) in Self.shapePairs.enumerated() {
            let a = Tensor.randomNormal(sa, seed: UInt64(seed))
            // Divisors kept away from zero.
            let b = try Tensor.randomUniform(sb, low: 0.5, high: 2, seed: UInt64(seed + 100))
                .multiplying(Tensor.randomNormal(sb, seed: UInt64(seed + 200)).mapped { $0 < 0 ? -1 : 1 })
            let ref = Naive.broadcastPairs(a, b)
            for (f, reference) in functions {
                var out = Tensor(zeros: [])
                try Elementwise.apply(f, a, b, into: &out)
                #expect(out.shape == ref.shape, "\(f) \(sa) \(sb)")
                #expect(Naive.maxRelativeError(out, ref.pairs.map(reference)) <= 1e-6, "\(f) \(sa) \(sb)")
            }
        }
    }

    @Test func operatorsMatchNamedMethods() throws {
        let a = Tensor.randomNormal([4, 5], seed: 1), b = Tensor.randomNormal([5], seed: 2)
        #expect(try a + b == a.adding(b))
        #expect(try a - b == a.subtracting(b))
        #expect(try a * b == a.multiplying(b))
        #expect(try a / b == a.dividing(b))
    }

    @Test func incompatibleShapesThrowNamingBoth() {
        let a = Tensor(zeros: [3, 4]), b = Tensor(zeros: [5])
        #expect { _ = try a + b } throws: { errorNames($0, "[3, 4]", "[5]") }
        #expect { _ = try a * Tensor(zeros: [2, 4]) } throws: { errorNames($0, "[3, 4]", "[2, 4]") }
        #expect { _ = try a.broadcast(to: [4]) } throws: { errorNames($0, "[3, 4]", "[4]") }
        #expect { _ = try Tensor.broadcastShape([2, 3], [4, 3]) } throws: { errorNames($0, "[2, 3]", "[4, 3]") }
    }

    @Test func scalarOperations() throws {
        let a = Tensor.randomNormal([3, 7], seed: 3)
        let cases: [(Tensor, (Float) -> Float)] = [
            (a + 2, { $0 + 2 }), (2 + a, { $0 + 2 }), (a - 1.5, { $0 - 1.5 }), (a * 3, { $0 * 3 }),
            (0.5 * a, { $0 * 0.5 }), (a / 4, { $0 / 4 }), (-a, { -$0 }), (a.scaled(by: -2), { $0 * -2 }),
        ]
        for (got, f) in cases {
            #expect(got.shape == a.shape)
            #expect(got.scalars == a.scalars.map(f))
        }
    }

    /// Bound: relative error ≤ 1e-6 against Double libm (float libm is within an ulp or two).
    /// 10 000 elements so the transcendental loops run on several chunks.
    @Test func unaryFunctionsMatchDouble() throws {
        let x = Tensor.randomNormal([100, 100], std: 2, seed: 4)
        let positive = x.mapped { Swift.abs($0) + 0.01 }
        let cases: [(Tensor, Tensor, (Double) -> Double)] = [
            (exp(x), x, Foundation.exp), (log(positive), positive, Foundation.log),
            (sqrt(positive), positive, { $0.squareRoot() }), (x.negated(), x, { -$0 }),
            (abs(x), x, { Swift.abs($0) }), (x.squared(), x, { $0 * $0 }), (tanh(x), x, Foundation.tanh),
        ]
        for (k, (got, input, f)) in cases.enumerated() {
            #expect(got.shape == input.shape)
            #expect(Naive.maxRelativeError(got, input.scalars.map { f(Double($0)) }) <= 1e-6, "case \(k)")
        }
    }

    @Test func inPlaceAddBroadcastsOperandAndKeepsCopiesIntact() throws {
        var x = Tensor.randomNormal([50, 8], seed: 5)
        let before = x, bias = Tensor.randomNormal([8], seed: 6)
        try x.add(bias)
        #expect(x == (try before + bias))
        #expect(before.scalars != x.scalars, "copy-on-write: the earlier value is unchanged")
        var y = before
        try y.add(y)  // aliasing the operand with the target
        #expect(y == before * 2)
        #expect { try y.add(Tensor(zeros: [3, 50, 8])) } throws: { errorNames($0, "[50, 8]", "[3, 50, 8]") }
    }

    @Test func addScaledAndScale() throws {
        var acc = Tensor.randomNormal([40, 30], seed: 7)
        let start = acc, g = Tensor.randomNormal([40, 30], seed: 8)
        try acc.addScaled(g, alpha: -0.25)
        for i in 0..<acc.count { #expect(acc.data[i] == start.data[i] + -0.25 * g.data[i]) }
        acc.scale(by: 3)
        for i in 0..<acc.count { #expect(acc.data[i] == (start.data[i] + -0.25 * g.data[i]) * 3) }
        #expect { try acc.addScaled(Tensor(zeros: [30, 40]), alpha: 1) } throws: { errorNames($0, "[40, 30]", "[30, 40]") }
    }

    @Test func broadcastToMaterialises() throws {
        let v = Tensor.randomNormal([3, 1], seed: 9)
        let big = try v.broadcast(to: [2, 3, 4])
        let ref = Naive.broadcastPairs(Tensor(zeros: [2, 3, 4]), v)
        #expect(big.shape == [2, 3, 4])
        #expect(Naive.maxRelativeError(big, ref.pairs.map(\.1)) == 0)
    }

    /// Bound: relative error ≤ 1e-5 (float sums of at most a few hundred terms).
    @Test func sumReducedMatchesNaive() throws {
        for (seed, (sa, sb)) in Self.shapePairs.enumerated() where sa.reduce(1, *) < 50_000 {
            let outShape = Naive.broadcastShape(sa, sb)
            let g = Tensor.randomNormal(outShape, seed: UInt64(seed))
            for target in [sa, sb] {
                let reduced = try g.sumReduced(toShape: target)
                #expect(reduced.shape == target)
                var ref = [Double](repeating: 0, count: target.reduce(1, *))
                for i in 0..<g.count {
                    ref[Naive.broadcastSource(Naive.multiIndex(i, outShape), target)] += Double(g.data[i])
                }
                #expect(Naive.maxRelativeError(reduced, ref) <= 1e-5, "\(outShape) → \(target)")
            }
        }
        #expect { _ = try Tensor(zeros: [3]).sumReduced(toShape: [2, 3]) } throws: { errorNames($0, "[3]", "[2, 3]") }
    }

    /// Same inputs twice (parallel paths included) → bit-identical outputs.
    @Test func deterministic() throws {
        let a = Tensor.randomNormal([300, 257], seed: 10), b = Tensor.randomNormal([257], seed: 11)
        #expect(try a * b == a * b)
        #expect(try a + b == a + b)
        #expect(exp(a) == exp(a))
        let x = Tensor.randomNormal([80_000], seed: 12)
        #expect(try x / x.adding(3) == x / x.adding(3))
    }
}
