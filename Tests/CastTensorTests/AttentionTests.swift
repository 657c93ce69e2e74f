import Foundation
import Testing
@testable import CastTensor

@Suite struct AttentionTests {
    /// Plain triple loop in double precision: GQA, sliding window, queries at the last T of S.
    static func reference(q: Tensor, k: Tensor, v: Tensor, _ c: Attention.Config) -> (out: [Double], probs: [Double]) {
        let (batch, tokens, keys, hd) = (q.shape[0], q.shape[1], k.shape[1], c.headDim)
        var out = [Double](repeating: 0, count: q.count)
        var probs = [Double](repeating: 0, count: batch * c.heads * tokens * keys)
        for b in 0..<batch {
            for h in 0..<c.heads {
                let kv = h / (c.heads / c.kvHeads)
                for i in 0..<tokens {
                    let position = keys - tokens + i
                    var scores = [Double](repeating: -.infinity, count: keys)
                    for j in 0..<keys where j <= position && (c.window == nil || j > position - c.window!) {
                        var dot = 0.0
                        for d in 0..<hd {
                            dot += Double(q[b, i, h * hd + d]) * Double(k[b, j, kv * hd + d])
                        }
                        scores[j] = dot * Double(c.scale)
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let total = e.reduce(0, +)
                    for j in 0..<keys {
                        let p = e[j] / total
                        probs[((b * c.heads + h) * tokens + i) * keys + j] = p
                        for d in 0..<hd { out[(b * tokens + i) * c.heads * hd + h * hd + d] += p * Double(v[b, j, kv * hd + d]) }
                    }
                }
            }
        }
        return (out, probs)
    }

    /// Small shapes with 2-row blocks so several blocks, the window and the offset interact.
    @Test(arguments: [(nil, 5, 5), (3, 5, 5), (3, 4, 7), (nil, 1, 6), (2, 7, 7)] as [(Int?, Int, Int)])
    func forwardMatchesTripleLoop(window: Int?, tokens: Int, keys: Int) throws {
        let c = Attention.Config(heads: 6, kvHeads: 2, headDim: 4, window: window)
        let q = Tensor.randomNormal([2, tokens, 24], seed: 1)
        let k = Tensor.randomNormal([2, keys, 8], seed: 2), v = Tensor.randomNormal([2, keys, 8], seed: 3)
        var out = Tensor(zeros: []), probs: Tensor? = Tensor(zeros: [])
        try Attention.forward(q: q, k: k, v: v, config: c, into: &out, probabilities: &probs, blockRows: 2)
        let ref = Self.reference(q: q, k: k, v: v, c)
        #expect(out.shape == q.shape)
        #expect(probs!.shape == [2, 6, tokens, keys])
        #expect(Reference.maxAbsDiff(out, ref.out) < 1e-5)
        #expect(Reference.maxAbsDiff(probs!, ref.probs) < 1e-6)
        // Default blocking and the inference path (no probabilities) give the same output.
        #expect(Reference.maxAbsDiff(try Attention.forward(q: q, k: k, v: v, config: c), ref.out) < 1e-5)
    }

    /// Decoding against a KV cache (last 3 queries, all keys) equals the tail of a full pass.
    @Test func cachedQueriesMatchTheTailOfAFullPass() throws {
        let c = Attention.Config(heads: 4, kvHeads: 4, headDim: 8, window: 4)
        let q = Tensor.randomNormal([1, 9, 32], seed: 4)
        let k = Tensor.randomNormal([1, 9, 32], seed: 5), v = Tensor.randomNormal([1, 9, 32], seed: 6)
        let full = try Attention.forward(q: q, k: k, v: v, config: c)
        let tail = try Tensor(Array(q.scalars[(6 * 32)...]), shape: [1, 3, 32])
        let cached = try Attention.forward(q: tail, k: k, v: v, config: c)
        #expect(Reference.maxAbsDiff(cached, Array(full.scalars[(6 * 32)...]).map(Double.init)) < 1e-6)
    }

    /// Bound: relative error ≤ 1e-2 (float32 forward, h = 1e-2; softmax curvature gives
    /// O(h²) truncation ≈ 1e-4 at these magnitudes, rounding ≈ 1e-4).
    @Test(arguments: [(nil, 4, 4, 3), (3, 3, 5, 2), (2, 5, 5, 1)] as [(Int?, Int, Int, Int)])
    func gradientCheck(window: Int?, tokens: Int, keys: Int, group: Int) throws {
        let kvHeads = 2, heads = kvHeads * group, hd = 3
        let c = Attention.Config(heads: heads, kvHeads: kvHeads, headDim: hd, window: window)
        let inputs = [Tensor.randomNormal([2, tokens, heads * hd], seed: 7),
                      Tensor.randomNormal([2, keys, kvHeads * hd], seed: 8),
                      Tensor.randomNormal([2, keys, kvHeads * hd], seed: 9)]
        let result = try GradCheck.check(inputs: inputs, forward: { xs in
            try Attention.forward(q: xs[0], k: xs[1], v: xs[2], config: c)
        }, backward: { dOut, xs in
            var out = Tensor(zeros: []), probs: Tensor? = Tensor(zeros: [])
            try Attention.forward(q: xs[0], k: xs[1], v: xs[2], config: c, into: &out,
                                  probabilities: &probs, blockRows: 2)
            var dq: Tensor? = Tensor(zeros: xs[0].shape)
            var dk: Tensor? = Tensor(zeros: xs[1].shape), dv: Tensor? = Tensor(zeros: xs[2].shape)
            try Attention.backward(dOut: dOut, q: xs[0], k: xs[1], v: xs[2], probabilities: probs!,
                                   config: c, dq: &dq, dk: &dk, dv: &dv, blockRows: 2)
            return [dq!, dk!, dv!]
        })
        #expect(result.maxError < 1e-2, "\(result.worst)")
    }

    /// Larger problem with the default blocking: repeats bit-identically, backward
    /// accumulates, and asking for one gradient gives the same values as asking for all.
    @Test func deterministicAccumulatingAndSelective() throws {
        let c = Attention.Config(heads: 6, kvHeads: 2, headDim: 16, window: 100)
        let q = Tensor.randomNormal([2, 150, 96], seed: 10)
        let k = Tensor.randomNormal([2, 150, 32], seed: 11), v = Tensor.randomNormal([2, 150, 32], seed: 12)
        let dOut = Tensor.randomNormal([2, 150, 96], seed: 13)
        func run(_ passes: Int, wantQ: Bool = true) throws -> (Tensor, Tensor?, Tensor, Tensor) {
            var out = Tensor(zeros: []), probs: Tensor? = Tensor(zeros: [])
            try Attention.forward(q: q, k: k, v: v, config: c, into: &out, probabilities: &probs)
            var dq: Tensor? = wantQ ? Tensor(zeros: q.shape) : nil
            var dk: Tensor? = Tensor(zeros: k.shape), dv: Tensor? = Tensor(zeros: v.shape)
            for _ in 0..<passes {
                try Attention.backward(dOut: dOut, q: q, k: k, v: v, probabilities: probs!, config: c,
                                       dq: &dq, dk: &dk, dv: &dv)
            }
            return (out, dq, dk!, dv!)
        }
        let first = try run(1), again = try run(1), twice = try run(2), noQ = try run(1, wantQ: false)
        #expect(first.0 == again.0 && first.1! == again.1! && first.2 == again.2 && first.3 == again.3)
        #expect(noQ.2 == first.2 && noQ.3 == first.3)
        for i in 0..<k.count { #expect(abs(twice.2.data[i] - 2 * first.2.data[i]) <= 1e-5 * max(1, abs(first.2.data[i]))) }
    }

    @Test func badShapesThrowNamingBoth() {
        let c = Attention.Config(heads: 4, kvHeads: 2, headDim: 8)
        let q = Tensor(zeros: [1, 5, 32])
        #expect { _ = try Attention.forward(q: q, k: Tensor(zeros: [1, 5, 24]), v: Tensor(zeros: [1, 5, 24]), config: c) }
            throws: { "\($0)".contains("[1, 5, 24]") && "\($0)".contains("[1, 5, 32]") }
        #expect { _ = try Attention.forward(q: q, k: Tensor(zeros: [1, 4, 16]), v: Tensor(zeros: [1, 4, 16]), config: c) }
            throws: { "\($0)".contains("[1, 4, 16]") && "\($0)".contains("[1, 5, 32]") }
        #expect { _ = try Attention.forward(q: q, k: Tensor(zeros: [1, 5, 16]), v: Tensor(zeros: [1, 6, 16]), config: c) }
            throws: { "\($0)".contains("[1, 6, 16]") && "\($0)".contains("[1, 5, 16]") }
        #expect(throws: TensorError.self) {
            _ = try Attention.forward(q: q, k: Tensor(zeros: [1, 5, 16]), v: Tensor(zeros: [1, 5, 16]),
                                      config: Attention.Config(heads: 4, kvHeads: 3, headDim: 8))
        }
        var dq: Tensor? = Tensor(zeros: [1, 5, 31]), noK: Tensor? = nil, noV: Tensor? = nil
        #expect {
            try Attention.backward(dOut: q, q: q, k: Tensor(zeros: [1, 5, 16]), v: Tensor(zeros: [1, 5, 16]),
                                   probabilities: Tensor(zeros: [1, 4, 5, 5]), config: c, dq: &dq, dk: &noK, dv: &noV)
        } throws: { "\($0)".contains("[1, 5, 31]") && "\($0)".contains("[1, 5, 32]") }
    }
}
