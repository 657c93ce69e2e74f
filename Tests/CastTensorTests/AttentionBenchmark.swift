import Foundation
import Testing
@testable import CastTensor

/// Attention throughput at the benchmark's shape (B=1, T=512, 9 heads × 64, 3 kv heads),
/// next to raw multithreaded sgemm measured in the same run. Opt-in (timing, not behaviour):
/// `CAST_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter AttentionBenchmark`;
/// `CAST_THREADS=n` sets `Parallel.threads` first (run this suite alone when using it).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CAST_BENCH"] != nil))
struct AttentionBenchmark {
    static func seconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()  // warm-up: buffers allocated, threads started
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    @Test func forwardBackwardGFLOPs() throws {
        if let n = ProcessInfo.processInfo.environment["CAST_THREADS"].flatMap(Int.init) { Parallel.threads = n }
        let (T, heads, kvHeads, hd) = (512, 9, 3, 64)
        let c = Attention.Config(heads: heads, kvHeads: kvHeads, headDim: hd)
        let q = Tensor.randomNormal([1, T, heads * hd], seed: 1)
        let k = Tensor.randomNormal([1, T, kvHeads * hd], seed: 2), v = Tensor.randomNormal([1, T, kvHeads * hd], seed: 3)
        let dOut = Tensor.randomNormal([1, T, heads * hd], seed: 4)
        var out = Tensor(zeros: []), probs: Tensor? = Tensor(zeros: [])
        var dq: Tensor? = Tensor(zeros: q.shape), dk: Tensor? = Tensor(zeros: k.shape), dv: Tensor? = Tensor(zeros: v.shape)
        let forward = try Self.seconds(repeats: 20) {
            try Attention.forward(q: q, k: k, v: v, config: c, into: &out, probabilities: &probs)
        }
        let backward = try Self.seconds(repeats: 20) {
            try Attention.backward(dOut: dOut, q: q, k: k, v: v, probabilities: probs!, config: c, dq: &dq, dk: &dk, dv: &dv)
        }
        // Causal FLOPs: each GEMM is 2·hd per visible (query, key) pair, T(T+1)/2 pairs per head;
        // forward has 2 GEMMs (QKᵀ, PV), backward 4 (dP, dV, dQ, dK).
        let pairs = Double(heads * T * (T + 1) / 2)
        let causalForward = 2 * 2 * Double(hd) * pairs, causalBackward = 2 * causalForward

        let (m, n, kk) = (512, 1536, 576)
        let a = Tensor.randomNormal([m, kk], seed: 5), b = Tensor.randomNormal([kk, n], seed: 6)
        var cMat = Tensor(zeros: [m, n])
        let gemm = Self.seconds(repeats: 20) {
            BLAS.sgemm(transposeA: false, transposeB: false, m: m, n: n, k: kk, a: a.data, lda: kk,
                       b: b.data, ldb: n, beta: 0, c: cMat.mutableData, ldc: n)
        }
        let sgemmRate = 2 * Double(m * n * kk) / gemm / 1e9
        let fRate = causalForward / forward / 1e9, bRate = causalBackward / backward / 1e9
        let total = (causalForward + causalBackward) / (forward + backward) / 1e9
        print("""
            attention B=1 T=\(T) \(heads)×\(hd) kv \(kvHeads), threads \(Parallel.threads):
              forward  \(String(format: "%.2f", forward * 1e3)) ms  \(String(format: "%.1f", fRate)) GFLOP/s (causal FLOPs)
              backward \(String(format: "%.2f", backward * 1e3)) ms  \(String(format: "%.1f", bRate)) GFLOP/s
              fwd+bwd  \(String(format: "%.1f", total)) GFLOP/s causal, \(String(format: "%.1f", 2 * total)) dense-equivalent
              raw sgemm \(m)×\(n)×\(kk): \(String(format: "%.1f", sgemmRate)) GFLOP/s; ratio (causal) \(String(format: "%.2f", total / sgemmRate))
            """)
        #expect(total > 0)
    }
}
