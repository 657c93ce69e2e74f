import Dispatch
import Testing
@testable import CastTensor

@Suite struct ScratchPoolTests {
    /// A buffer returned to the pool is handed out again to the next caller that fits in it;
    /// nested (concurrent) callers get distinct buffers; memory is 64-byte aligned and writable.
    @Test func buffersAreReusedAndNeverShared() {
        let pool = ScratchPool(), size = 3 << 20 + 17
        let first = pool.withBuffer(bytes: size) { p -> Int in
            p.storeBytes(of: 7, toByteOffset: size - 1, as: UInt8.self)
            return Int(bitPattern: p)
        }
        let second = pool.withBuffer(bytes: size) { Int(bitPattern: $0) }
        #expect(first == second, "the idle buffer is reused")
        #expect(first % 64 == 0)
        pool.withBuffer(bytes: size) { outer in
            pool.withBuffer(bytes: size) { inner in
                #expect(inner != outer, "a buffer in use is never handed out twice")
            }
        }
        // Many threads at once: every live buffer distinct (each writes its own marker).
        let markers = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: 16))
        defer { markers.value.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            pool.withBuffer(bytes: 4096) { p in
                p.storeBytes(of: i, as: Int.self)
                for _ in 0..<1000 { _ = p.load(as: Int.self) }
                markers.value[i] = p.load(as: Int.self)
            }
        }
        #expect((0..<16).allSatisfy { markers.value[$0] == $0 })
    }
}
