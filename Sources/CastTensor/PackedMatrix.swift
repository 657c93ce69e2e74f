import CKernels
import Foundation

/// A frozen weight matrix `[rows, columns]` (`[out, in]`) kept as small integers with a
/// float32 scale and offset per group of 16 or 32 columns: `W[n, k] = q·scale − offset`,
/// one rounding, exactly as ggml dequantizes its Q4/Q5/Q6/Q8 formats. q is stored in 8 bits,
/// or in 4 or 5 (`bits`, q = stored − `bias`) when every q fits 16 or 32 consecutive values
/// (Q4_0, Q4_1, Q4_K; Q5_0, Q5_1, Q5_K): products read 1.25, 0.75 or 0.875 bytes per weight
/// (groups of 32) instead of 4 and need no repacking per call (the layout is the kernel's; see `packed_matrix.h`), so a quantized
/// GGUF model runs on its own weights, bit for bit, whichever layout holds them.
public struct PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// Columns sharing one scale and offset (16 or 32).
    public let group: Int
    /// Bits per stored q: 8 (int8), 4 or 5 (q = stored − `bias`).
    public let bits: Int
    /// With 4 or 5 bits, q = stored − bias (so q lies in −bias … 2^bits − 1 − bias); 0 with 8.
    public let bias: Int
    /// Whether each group stores its offsets. False: every offset is +0 and left out, 64
    /// bytes a group fewer (ggml's Q4_0, Q5_0, Q8_0 and Q6_K, whose offsets are all 0); the
    /// kernels read +0 in their place, so the products and their bits are the same.
    public let offsets: Bool
    @usableFromInline let storage: PackedStorage

    /// Group sizes the layout supports.
    public static let groupSizes = [16, 32]

    /// An all-zero matrix (all −`bias` with 4 or 5 bits: fill every group) to be filled with
    /// `setGroup`; q in 8 bits, or in 4 or 5 bits holding q + `bias` (`bias` in 0 … 2^bits − 1;
    /// 5 bits with groups of 32 only). `offsets: false` leaves the offsets out: every offset
    /// given to `setGroup` must then be +0.
    public init(rows: Int, columns: Int, group: Int, bits: Int = 8, bias: Int = 0, offsets: Bool = true) throws {
        try Self.check(rows: rows, columns: columns, group: group, bits: bits, bias: bias)
        self.rows = rows
        self.columns = columns
        self.group = group
        self.bits = bits
        self.bias = bias
        self.offsets = offsets
        storage = PackedStorage(byteCount: Self.byteCount(rows: rows, columns: columns, group: group, bits: bits,
                                                          offsets: offsets))
    }

    /// Bytes of a packed matrix of this shape and layout.
    public static func byteCount(rows: Int, columns: Int, group: Int, bits: Int, offsets: Bool) -> Int {
        cast_packed_bytes(Int32(rows), Int32(columns), Int32(group), Int32(bits), offsets ? 1 : 0)
    }

    private static func check(rows: Int, columns: Int, group: Int, bits: Int, bias: Int) throws {
        guard Self.groupSizes.contains(group) else {
            throw TensorError("PackedMatrix", "group size must be 16 or 32, got \(group)")
        }
        guard (bits == 8 && bias == 0) || (bits == 4 && (0...15).contains(bias))
              || (bits == 5 && group == 32 && (0...31).contains(bias)) else {
            throw TensorError("PackedMatrix", "q is stored in 8 bits (bias 0), 4 bits (bias 0 … 15) or 5 bits (groups of 32, bias 0 … 31), got \(bits) bits, bias \(bias), group \(group)")
        }
        guard rows > 0, columns > 0, columns % group == 0, rows <= Int(Int32.max), columns <= Int(Int32.max) else {
            throw TensorError("PackedMatrix", "shape [\(rows), \(columns)] needs positive sizes with columns a multiple of \(group)")
        }
    }

    /// A matrix for q in `qRange`, in the densest layout that holds it: 4 bits when the range
    /// spans at most 16 values from −15 … 0 up (Q4_0's −8 … 7, Q4_1's and Q4_K's 0 … 15), 5 bits
    /// for 32 values from −31 … 0 up with groups of 32 (Q5_0's −16 … 15, Q5_1's, Q5_K's
    /// 0 … 31), else 8 bits. `CAST_PACKED_NIBBLES=0` keeps everything in 8 bits (to compare).
    /// `offsets: false` for formats whose offsets are all +0 (see `offsets`).
    public init(rows: Int, columns: Int, group: Int, qRange: ClosedRange<Int>, offsets: Bool = true) throws {
        let layout = Self.layout(group: group, qRange: qRange)
        try self.init(rows: rows, columns: columns, group: group, bits: layout.bits, bias: layout.bias,
                      offsets: offsets || !Self.offsetsOmittable)
    }

    /// False when `CAST_PACKED_OFFSETS=1`: every matrix stores its offsets, even all-zero ones
    /// (to compare; same bits either way).
    public static let offsetsOmittable: Bool = ProcessInfo.processInfo.environment["CAST_PACKED_OFFSETS"] != "1"

    /// The bits and bias `init(rows:columns:group:qRange:)` chooses for q in `qRange`.
    public static func layout(group: Int, qRange: ClosedRange<Int>) -> (bits: Int, bias: Int) {
        let bias = -qRange.lowerBound, span = qRange.upperBound - qRange.lowerBound
        if nibblesAllowed, (0...15).contains(bias), span <= 15 { return (4, bias) }
        if nibblesAllowed, group == 32, (0...31).contains(bias), span <= 31 { return (5, bias) }
        return (8, 0)
    }

    /// A matrix over packed bytes someone else holds (e.g. a memory-mapped cache file), kept
    /// alive by `owner`; read-only: `setGroup` and `fill` must not be called on it.
    /// `bytes` must be 64-byte aligned and exactly `byteCount` long for this shape.
    public init(rows: Int, columns: Int, group: Int, bits: Int, bias: Int, offsets: Bool = true,
                borrowing bytes: UnsafeRawPointer, byteCount: Int, owner: AnyObject) throws {
        try Self.check(rows: rows, columns: columns, group: group, bits: bits, bias: bias)
        let expected = Self.byteCount(rows: rows, columns: columns, group: group, bits: bits, offsets: offsets)
        guard byteCount == expected, Int(bitPattern: bytes) % 64 == 0 else {
            throw TensorError("PackedMatrix", "packed [\(rows), \(columns)] in \(bits) bits\(offsets ? "" : " without offsets") needs \(expected) bytes at a 64-byte boundary, got \(byteCount)")
        }
        self.rows = rows
        self.columns = columns
        self.group = group
        self.bits = bits
        self.bias = bias
        self.offsets = offsets
        storage = PackedStorage(borrowing: UnsafeMutableRawPointer(mutating: bytes), byteCount: byteCount, owner: owner)
    }

    /// The packed bytes (the kernels' layout), e.g. to save them.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.pointer, count: storage.byteCount) }

    /// False when `CAST_PACKED_NIBBLES=0`: every matrix keeps q in 8 bits.
    public static let nibblesAllowed: Bool = ProcessInfo.processInfo.environment["CAST_PACKED_NIBBLES"] != "0"

    public var shape: [Int] { [rows, columns] }
    public var count: Int { rows * columns }
    /// Bytes of the packed data (panels padded to 16 rows): (group·bits/8 + 8)/group bytes
    /// per weight, 1.25 with int8 q and groups of 32, 0.75 with 4-bit q; (group·bits/8 + 4)/group
    /// without offsets (1.125, 0.625; 0.75 with 5-bit q).
    public var byteCount: Int { storage.byteCount }

    /// Sets the group of `group` weights `W[row, g·group ..< (g+1)·group] = q·scale − offset`
    /// (with 4 or 5 bits, each q must lie in −bias … 2^bits − 1 − bias; without stored offsets,
    /// `offset` must be +0).
    @inlinable
    public func setGroup(row: Int, group g: Int, values q: UnsafePointer<Int8>, scale: Float, offset: Float) {
        precondition(row >= 0 && row < rows && g >= 0 && g < columns / group,
                     "PackedMatrix.setGroup: row \(row), group \(g) outside [\(rows), \(columns / group)]")
        precondition(offsets || offset.bitPattern == 0,
                     "PackedMatrix.setGroup: offset \(offset) in a matrix without stored offsets (all must be +0)")
        let base = storage.pointer + cast_packed_group_offset(Int32(rows), Int32(row), Int32(g), Int32(columns), Int32(group), Int32(bits),
                                                              offsets ? 1 : 0)
        let lane = row % Int(CAST_PANEL_ROWS), panelRows = Int(CAST_PANEL_ROWS)
        if bits != 8 {
            let bytes = base.assumingMemoryBound(to: UInt8.self), half = group / 2, top = (1 << bits) - 1
            let fifth = bytes + half * panelRows, laneByte = lane / 8, laneBit = UInt8(1 << (lane % 8))
            for k in 0..<half {
                let low = Int(q[k]) + bias, high = Int(q[k + half]) + bias
                precondition(low >= 0 && low <= top && high >= 0 && high <= top,
                             "PackedMatrix.setGroup: q \(q[k]), \(q[k + half]) outside \(-bias)…\(top - bias) (\(bits) bits)")
                bytes[k * panelRows + lane] = UInt8((low & 15) | (high & 15) << 4)
                if bits == 5 {
                    let first = fifth + 2 * k + laneByte, second = fifth + 2 * (k + half) + laneByte
                    first.pointee = low & 16 != 0 ? first.pointee | laneBit : first.pointee & ~laneBit
                    second.pointee = high & 16 != 0 ? second.pointee | laneBit : second.pointee & ~laneBit
                }
            }
        } else {
            let bytes = base.assumingMemoryBound(to: Int8.self)
            for k in 0..<group { bytes[k * panelRows + lane] = q[k] }
        }
        let floats = (base + group * panelRows * bits / 8).assumingMemoryBound(to: Float.self)
        floats[lane] = scale
        if offsets { floats[panelRows + lane] = offset }
    }

    /// Fills rows `range` (whole panels of 16, or up to the last row) from a tensor in one of
    /// ggml's block formats (its ggml type id; rows of `rowBytes` bytes from `source`), decoded
    /// in C (`cast_pack_ggml_rows`: the values `QuantizedGroups.decode` gives) into this
    /// matrix's layout. False, writing nothing, for a type or group size it does not read.
    public func fill(ggmlType: UInt32, source: UnsafeRawPointer, rowBytes: Int, rows range: Range<Int>) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "PackedMatrix.fill: rows \(range) outside 0..<\(rows)")
        return withDescriptor { w in
            cast_pack_ggml_rows(Int32(bitPattern: ggmlType), source, rowBytes, Int32(range.lowerBound), Int32(range.upperBound), w) != 0
        }
    }

    /// The float32 matrix (exactly the values every product uses).
    public func dequantized() -> Tensor {
        var out = Tensor(uninitialized: [rows, columns])
        dequantizeRows(0..<rows, into: out.mutableData)
        return out
    }

    /// Rows `range` as floats into `destination` (`range.count · columns` floats), on the
    /// selected kernel path or on `kernel` (capped at what the CPU supports).
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>,
                               kernel: PackedKernel? = nil) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows,
                     "PackedMatrix.dequantizeRows: rows \(range) outside 0..<\(rows)")
        let path = (kernel ?? .selected).cKernel
        withDescriptor { w in
            cast_packed_dequantize_rows_using(path, w, Int32(range.lowerBound), Int32(range.upperBound), destination)
        }
    }

    /// `y[r] (+)= W·x[r]` for `m` rows of `x` (row stride `ldx`) into `y` (row stride `ldy`),
    /// output rows split across cores by panels of 16; on the selected kernel path or on
    /// `kernel` (capped at what the CPU supports; every path gives the same bits).
    public func multiply(_ x: UnsafePointer<Float>, ldx: Int, rows m: Int, into y: UnsafeMutablePointer<Float>,
                         ldy: Int, accumulate: Bool, arithmetic: PackedArithmetic = .float32,
                         kernel: PackedKernel? = nil) {
        guard m > 0 else { return }
        precondition(ldx >= columns && ldy >= rows && m <= Int(Int32.max),
                     "PackedMatrix.multiply: strides \(ldx), \(ldy) too small for [\(rows), \(columns)]")
        let panels = Int(cast_packed_panels(Int32(rows)))
        // Each chunk computes whole output rows, so the split never changes the bits.
        // Several rows (prefill): one chunk per thread, each large enough (~1 M
        // multiply-adds) that its work dwarfs its start-up. One row (decode): a product is
        // only tens of microseconds, so it is cut into many small chunks that the caller and
        // the worker take as they get free; a worker that starts late or is preempted then
        // costs at most a chunk, instead of leaving the whole product to one core.
        let forEach: ((Range<Int>) -> Void) -> Void
        if m == 1 {
            // The int8 kernels do a multiply-add in about a third of the time, so their
            // chunks hold 4× as many to cost the same hand-off per unit of work (at 256 K,
            // int8 decode measured 0–10% slower than at 1 M; float32 15–28% faster).
            // Chunks are whole quads of panels (whose groups are interleaved: one stream each).
            let multiplyAdds = arithmetic == .int8 ? 4 * Self.decodeGrain : Self.decodeGrain
            let quadPanels = Int(CAST_QUAD_PANELS), quads = (panels + quadPanels - 1) / quadPanels
            let chunks = quads / max(1, multiplyAdds / (columns * 16 * quadPanels))
            forEach = { body in
                Parallel.forEach(quads, chunks: chunks) { range in
                    body((range.lowerBound * quadPanels)..<min(range.upperBound * quadPanels, panels))
                }
            }
        } else {
            let grain = max(1, (1 << 20) / max(1, m * columns * 16))
            forEach = { body in Parallel.forEach(panels, grain: grain, body) }
        }
        let ys = UncheckedSendable(y), flag: Int32 = accumulate ? 1 : 0
        let path = (kernel ?? .selected).cKernel
        withDescriptor { w in
            let wp = UncheckedSendable(w)
            switch arithmetic {
            case .float32:
                let xs = UncheckedSendable(x)
                forEach { range in
                    cast_packed_matmul_using(path, wp.value, xs.value, ldx, Int32(m), ys.value, ldy,
                                       Int32(range.lowerBound), Int32(range.upperBound), flag)
                }
            case .int8:
                // Rows are quantized once, then shared by the threads.
                let bytes = cast_int8_rows_bytes(Int32(m), Int32(columns), Int32(group))
                ScratchPool.shared.withBuffer(bytes: bytes) { quantized in
                    cast_int8_quantize_rows_using(path, x, ldx, Int32(m), Int32(columns), Int32(group), quantized)
                    let xs = UncheckedSendable(UnsafeRawPointer(quantized))
                    forEach { range in
                        cast_packed_matmul_int8_using(path, wp.value, xs.value, Int32(m), ys.value, ldy,
                                                Int32(range.lowerBound), Int32(range.upperBound), flag)
                    }
                }
            }
        }
    }

    /// Multiply-adds per chunk of a one-row product (decode): `CAST_DECODE_GRAIN`, else 256 K
    /// (tests override it with `withDecodeGrain`), chosen by decode-shaped
    /// product chains on 2 threads of a Zen 5 VM with the machine's other load niced away
    /// (ms/token, median; 1 M, the old grain, leaves smollm2-135m's products whole):
    /// smollm2-135m 1 thread 11.0, 1 M 11.0, 512 K 9.4–10.2, 256 K 6.6–7.6, 128 K 6.4–7.9,
    /// 32 K 8.2–8.7, 16 K 10.6–12.4 (each chunk costs ~0.4 µs of hand-off); qwen2.5-0.5b
    /// 1 thread 28–38, 1 M 19–21, 256 K 17–18.7, 128 K 19.2–20.4, 64 K 20.5–23.5.
    nonisolated(unsafe) static var decodeGrain: Int =
        Int(ProcessInfo.processInfo.environment["CAST_DECODE_GRAIN"] ?? "").map { max(1, $0) } ?? (1 << 18)

    /// Runs `body` with one-row products cut into chunks of about `multiplyAdds`, process-wide
    /// (tests force many small chunks to check that the split never changes the bits; any
    /// grain gives the same bits, so products running meanwhile elsewhere are unaffected).
    static func withDecodeGrain<R>(_ multiplyAdds: Int, _ body: () throws -> R) rethrows -> R {
        let saved = decodeGrain
        decodeGrain = max(1, multiplyAdds)
        defer { decodeGrain = saved }
        return try body()
    }

    /// The kernel path float32 products run (see `PackedKernel`).
    public static var kernel: PackedKernel { PackedKernel.selected.float32Path }

    /// The kernel path int8 products run: `.avx512vnni`, `.avx2` or `.portable`.
    public static var int8Kernel: PackedKernel { PackedKernel.selected.int8Path }

    /// Whether products run the AVX-512 kernel.
    public static var usesAVX512: Bool { kernel == .avx512 }

    /// Whether int8 products run the AVX-512 VNNI kernel.
    public static var usesVNNI: Bool { int8Kernel == .avx512vnni }

    /// Runs `body` with `kernel` forced for the whole process (capped at what the CPU
    /// supports), then restores the default. Products running at the same time elsewhere
    /// take the forced path too (same bits, other speed); a test that must know which path
    /// ran passes `kernel:` to `multiply` instead.
    public static func withKernel<R>(_ kernel: PackedKernel, _ body: () throws -> R) rethrows -> R {
        cast_kernel_force(Int32(kernel.cKernel.rawValue))
        defer { cast_kernel_force(-1) }
        return try body()
    }

    /// Runs `body` with the portable kernel forced (for tests comparing the kernels).
    public static func withPortableKernel<R>(_ body: () throws -> R) rethrows -> R {
        try withKernel(.portable, body)
    }

    func withDescriptor<R>(_ body: (UnsafePointer<CastPackedMatrix>) throws -> R) rethrows -> R {
        var descriptor = CastPackedMatrix(data: UnsafePointer(storage.pointer.assumingMemoryBound(to: Int8.self)),
                                          rows: Int32(rows), columns: Int32(columns), group: Int32(group),
                                          bits: Int32(bits), bias: Int32(bias), offsets: offsets ? 1 : 0)
        return try withUnsafePointer(to: &descriptor) { try body($0) }
    }
}

/// How a product with a packed matrix treats its float32 input.
public enum PackedArithmetic: String, Sendable, CaseIterable {
    /// Exact: the dequantized weights times the float32 input (the default everywhere).
    case float32
    /// The input rounded to 8 bits per row and group of columns (max|x|/127 steps) and
    /// integer dot products, as llama.cpp computes: about 3× faster on AVX-512 VNNI, with
    /// logits within ~1 of the exact ones. For inference only; training stays exact.
    case int8
}

/// 64-byte aligned bytes of a `PackedMatrix`: zero-initialised and owned, or borrowed from
/// an owner that keeps them alive (a mapped cache file).
public final class PackedStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    private let owner: AnyObject?

    init(byteCount: Int) {
        self.byteCount = byteCount
        owner = nil
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 64))
    }

    init(borrowing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.owner = owner
    }

    deinit { if owner == nil { pointer.deallocate() } }
}
