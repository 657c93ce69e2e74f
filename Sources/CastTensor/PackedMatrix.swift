import CKernels
import Foundation

/// A frozen weight matrix `[rows, columns]` (`[out, in]`) kept as 8-bit integers with a
/// float32 scale and offset per group of 16 or 32 columns: `W[n, k] = q·scale − offset`,
/// one rounding, exactly as ggml dequantizes its Q4/Q5/Q6/Q8 formats. Products read 1.25
/// bytes per weight instead of 4 and need no repacking per call (the layout is the kernel's;
/// see `packed_matrix.h`), so a quantized GGUF model runs on its own weights, bit for bit.
public struct PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// Columns sharing one scale and offset (16 or 32).
    public let group: Int
    @usableFromInline let storage: PackedStorage

    /// Group sizes the layout supports.
    public static let groupSizes = [16, 32]

    /// An all-zero matrix to be filled with `setGroup`.
    public init(rows: Int, columns: Int, group: Int) throws {
        guard Self.groupSizes.contains(group) else {
            throw TensorError("PackedMatrix", "group size must be 16 or 32, got \(group)")
        }
        guard rows > 0, columns > 0, columns % group == 0, rows <= Int(Int32.max), columns <= Int(Int32.max) else {
            throw TensorError("PackedMatrix", "shape [\(rows), \(columns)] needs positive sizes with columns a multiple of \(group)")
        }
        self.rows = rows
        self.columns = columns
        self.group = group
        storage = PackedStorage(byteCount: cast_packed_bytes(Int32(rows), Int32(columns), Int32(group)))
    }

    public var shape: [Int] { [rows, columns] }
    public var count: Int { rows * columns }
    /// Bytes of the packed data (panels padded to 16 rows).
    public var byteCount: Int { storage.byteCount }

    /// Sets the group of `group` weights `W[row, g·group ..< (g+1)·group] = q·scale − offset`.
    @inlinable
    public func setGroup(row: Int, group g: Int, values q: UnsafePointer<Int8>, scale: Float, offset: Float) {
        precondition(row >= 0 && row < rows && g >= 0 && g < columns / group,
                     "PackedMatrix.setGroup: row \(row), group \(g) outside [\(rows), \(columns / group)]")
        let base = storage.pointer + cast_packed_group_offset(Int32(row), Int32(g), Int32(columns), Int32(group))
        let lane = row % Int(CAST_PANEL_ROWS), panelRows = Int(CAST_PANEL_ROWS)
        let bytes = base.assumingMemoryBound(to: Int8.self)
        for k in 0..<group { bytes[k * panelRows + lane] = q[k] }
        let floats = (base + group * panelRows).assumingMemoryBound(to: Float.self)
        floats[lane] = scale
        floats[panelRows + lane] = offset
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
        // Enough panels per chunk that a thread's work dwarfs its start-up (~1 M multiply-adds).
        let grain = max(1, (1 << 20) / max(1, m * columns * 16))
        let ys = UncheckedSendable(y), flag: Int32 = accumulate ? 1 : 0
        let path = (kernel ?? .selected).cKernel
        withDescriptor { w in
            let wp = UncheckedSendable(w)
            switch arithmetic {
            case .float32:
                let xs = UncheckedSendable(x)
                Parallel.forEach(panels, grain: grain) { range in
                    cast_packed_matmul_using(path, wp.value, xs.value, ldx, Int32(m), ys.value, ldy,
                                       Int32(range.lowerBound), Int32(range.upperBound), flag)
                }
            case .int8:
                // Rows are quantized once, then shared by the threads.
                let bytes = cast_int8_rows_bytes(Int32(m), Int32(columns), Int32(group))
                ScratchPool.shared.withBuffer(bytes: bytes) { quantized in
                    cast_int8_quantize_rows_using(path, x, ldx, Int32(m), Int32(columns), Int32(group), quantized)
                    let xs = UncheckedSendable(UnsafeRawPointer(quantized))
                    Parallel.forEach(panels, grain: grain) { range in
                        cast_packed_matmul_int8_using(path, wp.value, xs.value, Int32(m), ys.value, ldy,
                                                Int32(range.lowerBound), Int32(range.upperBound), flag)
                    }
                }
            }
        }
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
                                          rows: Int32(rows), columns: Int32(columns), group: Int32(group))
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

/// 64-byte aligned, zero-initialised bytes owned by a `PackedMatrix`.
public final class PackedStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 64), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 64))
    }

    deinit { pointer.deallocate() }
}
