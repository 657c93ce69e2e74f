import Dispatch
import Testing
@testable import CastTensor

/// `BLAS.sgemm` splits large products across `Parallel.threads` itself (OpenBLAS on one
/// thread per block): the blocks must cover the product exactly, for every transpose, with
/// leading dimensions wider than the operands, and the same call must give the same bits
/// whatever other threads are doing.
@Suite struct ThreadedProductTests {
    /// C = 0.5·op(A)·op(B) + 0.25·C over strided sub-matrices, against a double-precision
    /// loop: split by columns (n ≥ m), by rows (m > n), and a one-row product split by
    /// columns. Bound 1e-4 relative to the largest reference entry.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func splitProductsMatchDoubleLoop(_ transposes: (Bool, Bool)) throws {
        let (ta, tb) = transposes
        for (m, n, k) in [(40, 203, 150), (211, 37, 170), (1, 1037, 300)] {
            #expect(m * n * k >= (m == 1 ? BLAS.vectorSplitThreshold : BLAS.splitThreshold), "\(m)×\(n)×\(k) must split")
            let (lda, ldb, ldc) = ((ta ? m : k) + 3, (tb ? k : n) + 5, n + 7)
            let a = Tensor.randomNormal([(ta ? k : m) * lda], seed: 1)
            let b = Tensor.randomNormal([(tb ? n : k) * ldb], seed: 2)
            let c0 = Tensor.randomNormal([m * ldc], seed: 3)
            var c = c0
            try Parallel.withThreads(2) {
                BLAS.sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.data, lda: lda,
                           b: b.data, ldb: ldb, beta: 0.25, c: c.mutableData, ldc: ldc)
            }
            var worst = 0.0, scale = 1.0
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for l in 0..<k {
                        s += Double(ta ? a.data[l * lda + i] : a.data[i * lda + l])
                            * Double(tb ? b.data[j * ldb + l] : b.data[l * ldb + j])
                    }
                    let reference = 0.5 * s + 0.25 * Double(c0.data[i * ldc + j])
                    worst = max(worst, abs(Double(c.data[i * ldc + j]) - reference))
                    scale = max(scale, abs(reference))
                }
                // Padding columns of C between rows are left alone.
                for j in n..<ldc where i < m - 1 { #expect(c.data[i * ldc + j] == c0.data[i * ldc + j]) }
            }
            #expect(worst <= 1e-4 * scale, "\(m)×\(n)×\(k) ta \(ta) tb \(tb): off by \(worst)")
        }
    }

    /// The same product, repeated while another thread runs products of other shapes and
    /// thread counts, gives identical bits every time (OpenBLAS's own threading did not:
    /// its split read a process-wide count that others changed).
    @Test func sameCallSameBitsUnderConcurrentWork() throws {
        let a = Tensor.randomNormal([300, 256], seed: 4), w = Tensor.randomNormal([384, 256], seed: 5)
        let first = try Linear.forward(a, weight: w)
        let stop = UncheckedSendable(ManagedFlag())
        let background = DispatchGroup()
        DispatchQueue.global().async(group: background) {
            let x = Tensor.randomNormal([97, 512], seed: 6), y = Tensor.randomNormal([640, 512], seed: 7)
            var threads = 1
            while !stop.value.isSet {
                _ = try? Parallel.withThreads(threads) { try Linear.forward(x, weight: y) }
                threads = 3 - threads
            }
        }
        for _ in 0..<20 { #expect(try Linear.forward(a, weight: w) == first) }
        stop.value.set()
        background.wait()
    }

    /// `withThreads` changes the count for its own task only.
    @Test func threadCountIsScopedToTheTask() async throws {
        let outside = Parallel.threads
        Parallel.withThreads(outside + 3) {
            #expect(Parallel.threads == outside + 3)
            #expect(Parallel.chunkCount(1000, grain: 1) == outside + 3)
        }
        #expect(Parallel.threads == outside)
        async let other = Task.detached { Parallel.threads }.value
        try await Parallel.withThreads(1) {
            #expect(Parallel.threads == 1)
        }
        #expect(await other == outside)
    }
}

/// A flag one thread sets and another polls.
final class ManagedFlag: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var value = false
    var isSet: Bool { lock.wait(); defer { lock.signal() }; return value }
    func set() { lock.wait(); value = true; lock.signal() }
}
