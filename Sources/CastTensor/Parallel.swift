import CBLAS
import Dispatch
import Foundation

/// How the engine uses the machine's cores: OpenBLAS threads for GEMM, and
/// `Parallel.forEach` for the non-GEMM kernels (norms, activations, softmax).
///
/// Work is split into chunks that depend only on the problem size and `threads`, and every
/// output element is computed by the same sequence of float operations whatever the split,
/// so the same seed and thread count give bit-identical results.
public enum Parallel {
    nonisolated(unsafe) private static var threadCount = ProcessInfo.processInfo.activeProcessorCount

    /// Threads used by BLAS and by the engine's own kernels.
    public static var threads: Int {
        get { threadCount }
        set {
            threadCount = max(1, newValue)
            openblas_set_num_threads(Int32(threadCount))
        }
    }

    /// Calls `body` on disjoint, ordered sub-ranges covering `0..<count`, in parallel when
    /// the work is large enough. `grain` is the smallest range worth a thread.
    @inlinable
    public static func forEach(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = chunkCount(count, grain: grain)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks write disjoint ranges; the closure itself is only shared, not mutated.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                shared.value(chunkRange(c, of: chunks, count: count))
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

/// Carries a value that is safe to share across the engine's worker threads by construction
/// (disjoint writes), which the compiler cannot prove.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
