import CBLAS
import CKernels
import Foundation

/// How the engine uses the machine's cores. The engine owns all of its threading:
/// `Parallel.forEach` splits the non-GEMM kernels, and `BLAS.sgemm` splits each product
/// itself and runs OpenBLAS on one thread per piece (see `BLAS`).
///
/// Work is split into chunks that depend only on the problem size and `threads`, so the
/// same call with the same thread count gives the same bits, whatever else runs at the
/// same time. Element-wise kernels compute every output element by the same sequence of
/// float operations whatever the split; products and chunked reductions may differ in the
/// last bits from one thread count to another (docs/engine.md, Determinism).
public enum Parallel {
    nonisolated(unsafe) private static var processThreads = ProcessInfo.processInfo.activeProcessorCount
    /// A thread count for the current task only (`withThreads`).
    @TaskLocal private static var taskThreads: Int? = nil

    /// Threads the engine's kernels and products use: the current task's `withThreads`
    /// value, else the process-wide count (default: the active cores). Set the process-wide
    /// count once at start-up; tests and libraries scope theirs with `withThreads`.
    public static var threads: Int {
        get { taskThreads ?? processThreads }
        set { processThreads = max(1, newValue) }
    }

    /// Runs `body` with `threads` set to `count` for this task alone (others keep theirs).
    public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        try $taskThreads.withValue(max(1, count)) { try body() }
    }

    /// Whether the calling thread is running a chunk of `forEach` (products called there
    /// stay on it).
    @inlinable
    public static var isWorker: Bool { cast_is_worker_thread() != 0 }

    /// Calls `body` on disjoint, ordered sub-ranges covering `0..<count`, in parallel when
    /// the work is large enough. `grain` is the smallest range worth a thread. The chunks
    /// run on the caller and the engine's worker pool (`CKernels/worker_pool.c`).
    @inlinable
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = chunkCount(count, grain: grain)
        run(count, chunks: chunks, threads: chunks, body)
    }

    /// Calls `body` on `chunks` disjoint, ordered sub-ranges covering `0..<count` (at most
    /// `count` of them), which the caller and up to `threads − 1` workers take one at a time
    /// as each becomes free. More chunks than threads balance the load when a thread starts
    /// late or is preempted; use it only where any split gives the same bits (each output
    /// element computed whole inside one chunk).
    @inlinable
    public static func forEach(_ count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(max(chunks, 1), count, Int(CAST_POOL_MAX_CHUNKS))
        run(count, chunks: threads <= 1 ? 1 : chunks, threads: min(threads, chunks), body)
    }

    /// Runs `body` on `chunks` ordered sub-ranges of `0..<count` on the caller and up to
    /// `threads − 1` pool workers (one chunk: on the caller alone).
    @inlinable
    static func run(_ count: Int, chunks: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = ChunkedJob(body: body, chunks: chunks, count: count)
            withUnsafeMutablePointer(to: &job) { pointer in
                cast_pool_run(Int32(chunks), Int32(threads), { context, chunk in
                    let job = context!.assumingMemoryBound(to: ChunkedJob.self)
                    job.pointee.body(Parallel.chunkRange(Int(chunk), of: job.pointee.chunks, count: job.pointee.count))
                }, pointer)
            }
        }
    }

    /// Number of chunks `forEach` uses for a problem; exposed so reductions can keep one
    /// partial result per chunk and combine them in order (deterministic).
    @inlinable
    public static func chunkCount(_ count: Int, grain: Int) -> Int {
        guard count > 0 else { return 0 }
        return max(1, min(threads, count / max(grain, 1)))
    }

    @inlinable
    public static func chunkRange(_ c: Int, of chunks: Int, count: Int) -> Range<Int> {
        (c * count / chunks)..<((c + 1) * count / chunks)
    }
}

/// One `forEach` call as the worker pool sees it (the chunks write disjoint ranges; the
/// closure itself is only shared, not mutated).
@usableFromInline
struct ChunkedJob {
    @usableFromInline let body: (Range<Int>) -> Void
    @usableFromInline let chunks: Int
    @usableFromInline let count: Int
    @inlinable init(body: @escaping (Range<Int>) -> Void, chunks: Int, count: Int) {
        self.body = body
        self.chunks = chunks
        self.count = count
    }
}

/// Carries a value that is safe to share across the engine's worker threads by construction
/// (disjoint writes), which the compiler cannot prove.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
