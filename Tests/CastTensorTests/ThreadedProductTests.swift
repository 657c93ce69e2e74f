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

    /// `forEach(_:chunks:)` hands out more chunks than threads: every index is visited
    /// exactly once, in ordered disjoint ranges, whatever the thread and chunk counts
    /// (chunks beyond the count, one chunk, no work at all), a call from inside a chunk runs
    /// there, and jobs from two threads at once (one runs inline) both complete.
    @Test func dynamicChunksCoverTheRangeOnce() throws {
        for threads in [1, 2, 4] {
            for (count, chunks) in [(0, 8), (1, 8), (5, 8), (100, 1), (100, 7), (1000, 300), (64, 64)] {
                var visits = [Int](repeating: 0, count: count)
                let ranges = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: max(1, count)))
                defer { ranges.value.deallocate() }
                visits.withUnsafeMutableBufferPointer { v in
                    let base = UncheckedSendable(v.baseAddress)
                    Parallel.withThreads(threads) {
                        Parallel.forEach(count, chunks: chunks) { range in
                            #expect(!range.isEmpty)
                            for i in range { base.value![i] += 1; ranges.value[i] = range.lowerBound }
                        }
                    }
                }
                #expect(visits == [Int](repeating: 1, count: count), "\(threads) threads, \(count) in \(chunks)")
                // Split, the ranges are Parallel.chunkRange's (boundaries at c·count/chunks);
                // on one thread the whole range is one call.
                let used = threads == 1 ? 1 : min(chunks, count)
                for c in 0..<used {
                    let r = Parallel.chunkRange(c, of: used, count: count)
                    if !r.isEmpty { #expect(ranges.value[r.upperBound - 1] == r.lowerBound) }
                }
            }
        }
        // Nested: the inner call runs on the thread of the outer chunk.
        let total = UncheckedSendable(ManagedCounter())
        Parallel.withThreads(2) {
            Parallel.forEach(16, chunks: 16) { outer in
                #expect(Parallel.isWorker)
                Parallel.forEach(10, chunks: 5) { inner in total.value.add(outer.count * inner.count) }
            }
        }
        #expect(total.value.value == 160)
        // Two callers at once: whichever finds the pool busy runs its chunks itself.
        let other = UncheckedSendable(ManagedCounter())
        let background = DispatchGroup()
        DispatchQueue.global().async(group: background) {
            Parallel.withThreads(2) {
                for _ in 0..<200 { Parallel.forEach(64, chunks: 32) { other.value.add($0.count) } }
            }
        }
        let mine = UncheckedSendable(ManagedCounter())
        Parallel.withThreads(2) {
            for _ in 0..<200 { Parallel.forEach(64, chunks: 32) { mine.value.add($0.count) } }
        }
        background.wait()
        #expect(mine.value.value == 200 * 64 && other.value.value == 200 * 64)
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

/// A total that chunks on several threads add to.
final class ManagedCounter: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var total = 0
    var value: Int { lock.wait(); defer { lock.signal() }; return total }
    func add(_ amount: Int) { lock.wait(); total += amount; lock.signal() }
}
