import Foundation

/// Reusable scratch memory for kernels that need a temporary buffer per call (packed
/// backward slabs, quantized activations): buffers go back to the pool after each call and
/// are handed out again, so a training loop does not map and fault in fresh pages every step.
/// Thread-safe; concurrent callers get distinct buffers.
public final class ScratchPool: @unchecked Sendable {
    /// The pool the engine's kernels use.
    public static let shared = ScratchPool()

    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    /// Buffers kept when idle (more are freed on return).
    private let keep: Int

    public init(keep: Int = 8) { self.keep = keep }

    deinit { for buffer in free { buffer.pointer.deallocate() } }

    /// Runs `body` with at least `bytes` bytes of 64-byte-aligned memory (contents unspecified).
    public func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        let buffer = take(bytes: max(bytes, 64))
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    private func take(bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        lock.lock()
        // The smallest idle buffer that is large enough.
        if let index = free.indices.filter({ free[$0].bytes >= bytes }).min(by: { free[$0].bytes < free[$1].bytes }) {
            let buffer = free.remove(at: index)
            lock.unlock()
            return buffer
        }
        lock.unlock()
        return (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
    }

    private func give(_ buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)) {
        lock.lock()
        free.append(buffer)
        var evicted: [UnsafeMutableRawPointer] = []
        if free.count > keep {
            // Drop the smallest: the large ones are the expensive ones to fault in again.
            free.sort { $0.bytes > $1.bytes }
            evicted = free[keep...].map(\.pointer)
            free.removeLast(free.count - keep)
        }
        lock.unlock()
        for pointer in evicted { pointer.deallocate() }
    }
}
