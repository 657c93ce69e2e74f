import Foundation
import Testing
@testable import CastTensor

@Suite struct RoPETests {
    /// Double-precision rotation of one vector of `heads·headDim`.
    static func reference(_ x: [Double], position: Int, heads: Int, headDim: Int, base: Double,
                          pairing: RoPE.Pairing) -> [Double] {
        var y = x
        let half = headDim / 2
        for h in 0..<heads {
            for i in 0..<half {
                let angle = Double(position) * pow(base, -2 * Double(i) / Double(headDim))
                let (ia, ib) = pairing == .adjacent ? (2 * i, 2 * i + 1) : (i, i + half)
                let a = x[h * headDim + ia], b = x[h * headDim + ib]
                y[h * headDim + ia] = a * cos(angle) - b * sin(angle)
                y[h * headDim + ib] = a * sin(angle) + b * cos(angle)
            }
        }
        return y
    }

    @Test(arguments: [RoPE.Pairing.adjacent, .halfSplit])
    func forwardMatchesDoubleLoop(pairing: RoPE.Pairing) throws {
        let (batch, tokens, heads, headDim) = (2, 5, 3, 8)
        let table = try RoPE.Table(base: 10000, headDim: headDim, maxPositions: 600)
        let x = Tensor.randomNormal([batch, tokens, heads * headDim], seed: 1)
        let positions: [Int32] = [0, 1, 7, 100, 511]  // shared by both sequences
        let y = try RoPE.forward(x, positions: positions, table: table, pairing: pairing)
        var ref = [Double]()
        for r in 0..<batch * tokens {
            let row = (0..<heads * headDim).map { Double(x.data[r * heads * headDim + $0]) }
            ref += Self.reference(row, position: Int(positions[r % tokens]), heads: heads,
                                  headDim: headDim, base: 10000, pairing: pairing)
        }
        #expect(Reference.maxAbsDiff(y, ref) < 1e-5)
    }

    /// Positions past the tabulated ones are computed on the fly, bit for bit as the table
    /// would hold them: rotating a row at position p equals a table built with p inside.
    @Test func positionsPastTheTableGiveTheTableBits() throws {
        let (heads, headDim) = (2, 8), p = RoPE.Table.tabulatedPositions
        let table = try RoPE.Table(base: 10000, headDim: headDim, maxPositions: p + 100)
        let x = Tensor.randomNormal([1, 4, heads * headDim], seed: 4)
        let positions: [Int32] = [Int32(p - 1), Int32(p), Int32(p + 1), Int32(p + 99)]
        let y = try RoPE.forward(x, positions: positions, table: table, pairing: .halfSplit)
        for (t, position) in positions.enumerated() {
            let row = Array(x.scalars[(t * heads * headDim)..<((t + 1) * heads * headDim)])
            var expected = [Float](repeating: 0, count: heads * headDim)
            for h in 0..<heads {
                for i in 0..<headDim / 2 {
                    let angle = Double(position) * pow(10000, -2 * Double(i) / Double(headDim))
                    let c = Float(cos(angle)), s = Float(sin(angle))
                    let a = row[h * headDim + i], b = row[h * headDim + i + headDim / 2]
                    expected[h * headDim + i] = a * c - b * s
                    expected[h * headDim + i + headDim / 2] = a * s + b * c
                }
            }
            let got = Array(y.scalars[(t * heads * headDim)..<((t + 1) * heads * headDim)])
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "position \(position)")
        }
    }

    /// A checkpoint converted to adjacent pairs (GGUF llama: rows 2i, 2i+1 ← i, i+d/2) gives the
    /// same result as half-split pairing on the original layout.
    @Test func adjacentEqualsHalfSplitUnderTheGGUFPermutation() throws {
        let (heads, headDim) = (2, 8), half = 4
        let table = try RoPE.Table(base: 500_000, headDim: headDim, maxPositions: 64)
        let original = Tensor.randomNormal([1, 3, heads * headDim], seed: 2)
        var permuted = original
        for t in 0..<3 {
            for h in 0..<heads {
                for i in 0..<half {
                    permuted[0, t, h * headDim + 2 * i] = original[0, t, h * headDim + i]
                    permuted[0, t, h * headDim + 2 * i + 1] = original[0, t, h * headDim + i + half]
                }
            }
        }
        let positions: [Int32] = [3, 17, 63]
        let neox = try RoPE.forward(original, positions: positions, table: table, pairing: .halfSplit)
        let llama = try RoPE.forward(permuted, positions: positions, table: table, pairing: .adjacent)
        for t in 0..<3 {
            for h in 0..<heads {
                for i in 0..<half {
                    #expect(llama[0, t, h * headDim + 2 * i] == neox[0, t, h * headDim + i])
                    #expect(llama[0, t, h * headDim + 2 * i + 1] == neox[0, t, h * headDim + i + half])
                }
            }
        }
    }

    /// Positions given per row (a KV cache at offset 4) equal the tail of a full pass.
    @Test func perRowPositionsMatchTheTailOfAFullPass() throws {
        let table = try RoPE.Table(base: 10000, headDim: 4, maxPositions: 16)
        let x = Tensor.randomNormal([1, 6, 8], seed: 3)
        let full = try RoPE.forward(x, positions: (0..<6).map(Int32.init), table: table, pairing: .halfSplit)
        let tail = try Tensor(Array(x.scalars[32...]), shape: [1, 2, 8])
        let cached = try RoPE.forward(tail, positions: [4, 5], table: table, pairing: .halfSplit)
        #expect(cached.scalars == Array(full.scalars[32...]))
    }

    /// Bound: relative error ≤ 1e-3 (the op is linear in x: central differences are exact up
    /// to float32 rounding).
    @Test(arguments: [RoPE.Pairing.adjacent, .halfSplit])
    func gradientCheck(pairing: RoPE.Pairing) throws {
        let table = try RoPE.Table(base: 10000, headDim: 6, maxPositions: 32)
        let positions: [Int32] = [2, 9, 31, 0, 5, 6]  // one per row
        let result = try GradCheck.check(inputs: [Tensor.randomNormal([2, 3, 12], seed: 4)], forward: { xs in
            try RoPE.forward(xs[0], positions: positions, table: table, pairing: pairing)
        }, backward: { dy, xs in
            var dx: Tensor? = Tensor(zeros: xs[0].shape)
            try RoPE.backward(dy: dy, positions: positions, table: table, pairing: pairing, dx: &dx)
            return [dx!]
        })
        #expect(result.maxError < 1e-3, "\(result.worst)")
    }

    @Test func backwardUndoesForwardAndAccumulates() throws {
        let table = try RoPE.Table(base: 10000, headDim: 8, maxPositions: 64)
        let x = Tensor.randomNormal([3, 16], seed: 5), positions: [Int32] = [1, 40, 63]
        let y = try RoPE.forward(x, positions: positions, table: table, pairing: .adjacent)
        var dx: Tensor? = x
        try RoPE.backward(dy: y, positions: positions, table: table, pairing: .adjacent, dx: &dx)
        for i in 0..<x.count { #expect(abs(dx!.data[i] - 2 * x.data[i]) < 1e-5) }
    }

    @Test func badInputsThrow() throws {
        let table = try RoPE.Table(base: 10000, headDim: 8, maxPositions: 4)
        #expect { _ = try RoPE.forward(Tensor(zeros: [2, 12]), positions: [0, 1], table: table, pairing: .adjacent) }
            throws: { "\($0)".contains("[2, 12]") && "\($0)".contains("[8]") }
        #expect { _ = try RoPE.forward(Tensor(zeros: [1, 2, 8]), positions: [0, 1, 2], table: table, pairing: .adjacent) }
            throws: { "\($0)".contains("[3]") && "\($0)".contains("[1, 2, 8]") }
        #expect { _ = try RoPE.forward(Tensor(zeros: [2, 8]), positions: [0, 4], table: table, pairing: .adjacent) }
            throws: { "\($0)".contains("position 4") }
        #expect(throws: TensorError.self) { _ = try RoPE.Table(base: 10000, headDim: 7, maxPositions: 4) }
        var dx: Tensor? = Tensor(zeros: [2, 16])
        #expect { try RoPE.backward(dy: Tensor(zeros: [2, 8]), positions: [0, 1], table: table, pairing: .adjacent, dx: &dx) }
            throws: { "\($0)".contains("[2, 16]") && "\($0)".contains("[2, 8]") }
    }
}
