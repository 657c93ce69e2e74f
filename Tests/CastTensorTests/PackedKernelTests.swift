import CKernels
import Foundation
import Testing
@testable import CastTensor

/// Every kernel path this CPU supports (portable, AVX2 + FMA, AVX-512, AVX-512 VNNI) against
/// the written-out definitions (`PackedDefinition`), bit for bit: float32 and int8 products
/// for 1…13 rows (all row-tile sizes and a tail past a whole tile), with and without
/// accumulation, on matrices whose last panel leaves 1, 5, 8, 9, 11, 15 or 16 lanes; and the
/// dequantized rows; with q in int8 and in 4 and 5 bits (the biases ggml's formats need),
/// offsets stored or left out. Each call names its path (`kernel:`), so tests running beside
/// these cannot change which path runs.
@Suite struct PackedKernelTests {
    /// The paths to check: every one up to the CPU's best.
    static let kernels = PackedKernel.allCases.filter { $0 <= PackedKernel.supported }

    /// rows % 16 = 1, 5, 8, 9, 15, 0: masked stores in either 8-lane half, or none.
    static let shapes: [(rows: Int, columns: Int, group: Int)] = [
        (1, 32, 16), (21, 64, 32), (24, 96, 16), (25, 64, 32), (47, 32, 16), (32, 160, 32),
        (75, 64, 32), (136, 32, 16),  // one row takes whole panels four at a time, then the rest
    ]

    /// The q layouts: int8, 4 bits with q = nibble (Q4_1, Q4_K) or nibble − 8 (Q4_0), 5 bits
    /// with q = stored (Q5_1, Q5_K) or stored − 16 (Q5_0); 5 bits on groups of 32 only; and
    /// those of ggml's formats whose offsets are all +0 (Q8_0, Q6_K, Q4_0, Q5_0) once more with
    /// the offsets left out (`offsets: false`, the kernels reading +0 in their place).
    static let layouts: [(bits: Int, bias: Int, offsets: Bool)] = [
        (8, 0, true), (4, 0, true), (4, 8, true), (5, 0, true), (5, 16, true),
        (8, 0, false), (4, 8, false), (5, 16, false),
    ]

    static func shapesFor(_ layout: (bits: Int, bias: Int, offsets: Bool)) -> [(rows: Int, columns: Int, group: Int)] {
        layout.bits == 5 ? shapes.filter { $0.group == 32 } : shapes
    }

    static func matrix(_ s: (rows: Int, columns: Int, group: Int), seed: UInt64,
                       layout: (bits: Int, bias: Int, offsets: Bool) = (8, 0, true)) throws -> (PackedMatrix, PackedDefinition) {
        let (w, q, scales, offsets) = try PackedMatrixTests.random(rows: s.rows, columns: s.columns, group: s.group, seed: seed,
                                                                   bits: layout.bits, bias: layout.bias, offsets: layout.offsets)
        return (w, PackedDefinition(rows: s.rows, columns: s.columns, group: s.group, q: q, scales: scales, offsets: offsets))
    }

    /// Random values; `y` buffers start with values so accumulation and untouched padding show.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        Tensor.randomNormal([count], seed: seed).scalars
    }

    /// Runs `multiply` on copies of `x` and `y` with row strides wider than the matrix.
    static func run(_ w: PackedMatrix, x: [Float], ldx: Int, m: Int, y: [Float], ldy: Int, accumulate: Bool,
                    arithmetic: PackedArithmetic, kernel: PackedKernel) -> [Float] {
        var out = y
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { yp in
                w.multiply(xp.baseAddress!, ldx: ldx, rows: m, into: yp.baseAddress!, ldy: ldy,
                           accumulate: accumulate, arithmetic: arithmetic, kernel: kernel)
            }
        }
        return out
    }

    /// Runs `m` rows through `w` on every path, with and without accumulation, and expects the
    /// definition's bits from each.
    static func expectEveryPath(_ w: PackedMatrix, _ definition: PackedDefinition, _ s: (rows: Int, columns: Int, group: Int),
                                label: String, m: Int, xSeed: UInt64, ySeed: UInt64, arithmetic: PackedArithmetic) {
        let ldx = s.columns + 3, ldy = s.rows + 5
        let x = values(m * ldx, seed: xSeed), y = values(m * ldy, seed: ySeed)
        for accumulate in [false, true] {
            let expected = arithmetic == .int8
                ? definition.int8Product(x: x, ldx: ldx, m: m, y: y, ldy: ldy, accumulate: accumulate)
                : definition.product(x: x, ldx: ldx, m: m, y: y, ldy: ldy, accumulate: accumulate)
            for kernel in kernels {
                let got = run(w, x: x, ldx: ldx, m: m, y: y, ldy: ldy, accumulate: accumulate, arithmetic: arithmetic, kernel: kernel)
                let differ = zip(got, expected).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                #expect(differ == 0, "\(kernel) \(label) shape \(s), \(m) rows, accumulate \(accumulate): \(differ) values differ")
            }
        }
    }

    @Test func everyPathsFloat32ProductIsTheDefinition() throws {
        #expect(Self.kernels.contains(.portable))
        for layout in Self.layouts {
        for (i, s) in Self.shapesFor(layout).enumerated() {
            let (w, definition) = try Self.matrix(s, seed: 40 + UInt64(i), layout: layout)
            for m in 1...13 {
                Self.expectEveryPath(w, definition, s, label: "\(layout)", m: m, xSeed: UInt64(100 * i + m), ySeed: 7, arithmetic: .float32)
            }
        }
        }
    }

    /// Panels are interleaved in quads (`packed_matrix.h`): group g of panel p lies after the
    /// whole quads before p's, then g groups of each panel of its quad, then those of the panels
    /// before it in the quad; a last quad of 1–3 panels steps by its own panel count. Every
    /// group has a place of its own and together they tile the bytes; `setGroup` writes there.
    @Test func panelsAreInterleavedInQuads() throws {
        // 5, 6, 7 and 8 panels (last quads of 1, 2, 3 and 4; the last panel partial in two).
        for rows in [75, 96, 100, 128] {
            for layout in Self.layouts {
                let group = layout.bits == 5 ? 32 : 16, columns = 96, groups = columns / group
                let panels = (rows + 15) / 16
                let groupBytes = group * 16 * layout.bits / 8 + (layout.offsets ? 128 : 64)
                var seen = Set<Int>()
                for panel in 0..<panels {
                    let first = panel / 4 * 4, inQuad = min(4, panels - first)
                    for g in 0..<groups {
                        let expected = first * groups * groupBytes + (g * inQuad + panel - first) * groupBytes
                        for row in [16 * panel, min(rows - 1, 16 * panel + 15)] {
                            let offset = cast_packed_group_offset(Int32(rows), Int32(row), Int32(g), Int32(columns), Int32(group),
                                                                  Int32(layout.bits), layout.offsets ? 1 : 0)
                            #expect(offset == expected, "rows \(rows) \(layout) row \(row) group \(g)")
                        }
                        seen.insert(expected)
                    }
                }
                #expect(seen == Set((0..<(panels * groups)).map { $0 * groupBytes }), "rows \(rows) \(layout)")
                #expect(PackedMatrix.byteCount(rows: rows, columns: columns, group: group, bits: layout.bits,
                                               offsets: layout.offsets) == panels * groups * groupBytes)
            }
            // The bytes setGroup writes: 8-bit q of row n, group g, column k at the group's
            // place + 16·k + lane; its scale after the group's q.
            let m = try PackedMatrix(rows: rows, columns: 64, group: 32)
            let panels = (rows + 15) / 16
            for n in 0..<rows {
                for g in 0..<2 {
                    let q = (0..<32).map { Int8(truncatingIfNeeded: n * 7 + g * 3 + $0) }
                    m.setGroup(row: n, group: g, values: q, scale: Float(n * 2 + g), offset: 0)
                }
            }
            let bytes = Array(m.bytes)
            for n in 0..<rows {
                let panel = n / 16, lane = n % 16, first = panel / 4 * 4, inQuad = min(4, panels - first)
                for g in 0..<2 {
                    let at = first * 2 * 640 + (g * inQuad + panel - first) * 640
                    for k in [0, 13, 31] {
                        #expect(Int8(bitPattern: bytes[at + 16 * k + lane]) == Int8(truncatingIfNeeded: n * 7 + g * 3 + k))
                    }
                    let scale = bytes[(at + 512 + 4 * lane)..<(at + 516 + 4 * lane)].withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
                    #expect(scale == Float(n * 2 + g), "rows \(rows) row \(n) group \(g)")
                }
            }
        }
    }

    /// One row (decode): whole quads four panels at a time, the rest panel by panel, on every
    /// path and every layout, float32 and int8, the definition's bits for any range of panels
    /// (ranges starting or ending inside a quad, a last quad of 1–3 panels, a last panel of
    /// fewer than 16 rows) and through `multiply` cut into chunks of one quad.
    @Test func oneRowProductsAreTheDefinitionOnAnyPanels() throws {
        let shapes: [(rows: Int, columns: Int, group: Int)] = [(133, 64, 32), (112, 96, 16), (160, 32, 32), (69, 64, 16)]
        for layout in Self.layouts {
            for (i, s) in shapes.enumerated() where layout.bits != 5 || s.group == 32 {
                let (w, definition) = try Self.matrix(s, seed: 120 + UInt64(i), layout: layout)
                let panels = (s.rows + 15) / 16
                let x = Self.values(s.columns, seed: 130 + UInt64(i)), start = Self.values(s.rows, seed: 140 + UInt64(i))
                for accumulate in [false, true] {
                for arithmetic in PackedArithmetic.allCases {
                    let expected = arithmetic == .int8
                        ? definition.int8Product(x: x, ldx: s.columns, m: 1, y: start, ldy: s.rows, accumulate: accumulate)
                        : definition.product(x: x, ldx: s.columns, m: 1, y: start, ldy: s.rows, accumulate: accumulate)
                    let ranges = [0..<panels, 1..<panels, 0..<min(panels, 3), 3..<min(panels, 9), (panels - 1)..<panels,
                                  min(4, panels - 1)..<panels, 2..<min(panels, 6)]
                    for kernel in Self.kernels {
                        for range in ranges where !range.isEmpty {
                            var y = start
                            let quantized = [UInt8](unsafeUninitializedCapacity: cast_int8_rows_bytes(1, Int32(s.columns), Int32(s.group))) { buffer, count in
                                cast_int8_quantize_rows_using(kernel.cKernel, x, s.columns, 1, Int32(s.columns), Int32(s.group), buffer.baseAddress!)
                                count = buffer.count
                            }
                            w.withDescriptor { d in
                                x.withUnsafeBufferPointer { xp in
                                    y.withUnsafeMutableBufferPointer { yp in
                                        if arithmetic == .int8 {
                                            cast_packed_matmul_int8_using(kernel.cKernel, d, quantized, 1, yp.baseAddress!, s.rows,
                                                                          Int32(range.lowerBound), Int32(range.upperBound), accumulate ? 1 : 0)
                                        } else {
                                            cast_packed_matmul_using(kernel.cKernel, d, xp.baseAddress!, s.columns, 1, yp.baseAddress!,
                                                                     s.rows, Int32(range.lowerBound), Int32(range.upperBound),
                                                                     accumulate ? 1 : 0)
                                        }
                                    }
                                }
                            }
                            let inside = (16 * range.lowerBound)..<min(s.rows, 16 * range.upperBound)
                            let differ = y.indices.filter { n in
                                y[n].bitPattern != (inside.contains(n) ? expected[n] : start[n]).bitPattern
                            }.count
                            #expect(differ == 0, "\(kernel) \(arithmetic) \(layout) shape \(s) panels \(range) accumulate \(accumulate)")
                        }
                        let chunked = PackedMatrix.withDecodeGrain(1) {
                            Self.run(w, x: x, ldx: s.columns, m: 1, y: start, ldy: s.rows, accumulate: accumulate,
                                     arithmetic: arithmetic, kernel: kernel)
                        }
                        #expect(chunked.map(\.bitPattern) == expected.map(\.bitPattern), "\(kernel) \(arithmetic) \(layout) shape \(s) in quads")
                    }
                }
                }
            }
        }
    }

    /// Products of many rows, which the AVX2 path runs in blocks of up to 24 rows (fewer on
    /// wide matrices, 4128 columns here: 12), each split into passes of ≤ 6, over 128
    /// columns at a time: several blocks and uneven splits, whole runs of 128 columns and a
    /// shorter last one (groups of 16 and 32), every layout, the same bits as the definition
    /// on every path.
    @Test func manyRowProductsAreTheDefinition() throws {
        let shapes: [(rows: Int, columns: Int, group: Int)] = [(40, 48, 16), (17, 288, 16), (23, 96, 32), (20, 4128, 32)]
        for layout in Self.layouts {
        for (i, s) in shapes.enumerated() where layout.bits != 5 || s.group == 32 {
            let (w, definition) = try Self.matrix(s, seed: 80 + UInt64(i), layout: layout)
            for m in s.columns > 1000 ? [13, 25, 41] : [14, 24, 25, 31, 49, 61] {
                Self.expectEveryPath(w, definition, s, label: "\(layout)", m: m, xSeed: UInt64(300 * i + m), ySeed: 9, arithmetic: .float32)
            }
        }
        }
    }

    @Test func everyPathsInt8ProductIsTheDefinition() throws {
        for layout in Self.layouts {
        for (i, s) in Self.shapesFor(layout).enumerated() {
            let (w, definition) = try Self.matrix(s, seed: 60 + UInt64(i), layout: layout)
            for m in 1...13 {
                Self.expectEveryPath(w, definition, s, label: "\(layout) int8", m: m, xSeed: UInt64(200 * i + m), ySeed: 8, arithmetic: .int8)
            }
        }
        }
    }

    /// Rows with a zero group (d = 0), ties at .5 after scaling, and the largest magnitudes
    /// quantize as the definition says on every path.
    @Test func int8EdgeValuesAreTheDefinition() throws {
        let s = (rows: 21, columns: 64, group: 32)
        let (w, definition) = try Self.matrix(s, seed: 80)
        var x = [Float](repeating: 0, count: 3 * 64)
        for k in 0..<31 { x[64 + k] = Float(k - 16) + 0.5 }            // max 127: d = 1, so each is a tie
        x[64 + 31] = 127
        for k in 32..<64 { x[64 + k] = k % 2 == 0 ? 1e30 : -1e30 }     // huge values
        for k in 0..<64 { x[128 + k] = Float(k % 3) - 1 }              // 127 · ±1 exactly
        let y = Self.values(3 * 21, seed: 9)
        let expected = definition.int8Product(x: x, ldx: 64, m: 3, y: y, ldy: 21, accumulate: false)
        for kernel in Self.kernels {
            let got = Self.run(w, x: x, ldx: 64, m: 3, y: y, ldy: 21, accumulate: false, arithmetic: .int8, kernel: kernel)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(kernel)")
        }
    }

    @Test func everyPathDequantizesToTheDefinition() throws {
        for layout in Self.layouts {
        for (i, s) in Self.shapesFor(layout).enumerated() {
            let (w, definition) = try Self.matrix(s, seed: 90 + UInt64(i), layout: layout)
            let ranges = [0..<s.rows, (s.rows / 3)..<s.rows, 0..<min(s.rows, 17), (s.rows - 1)..<s.rows]
            for range in ranges {
                let expected = range.flatMap { n in (0..<s.columns).map { definition.weight(n, $0) } }
                for kernel in Self.kernels {
                    var got = [Float](repeating: .nan, count: range.count * s.columns)
                    got.withUnsafeMutableBufferPointer { w.dequantizeRows(range, into: $0.baseAddress!, kernel: kernel) }
                    #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(kernel) \(layout) shape \(s), rows \(range)")
                }
            }
        }
        }
    }

    /// Large enough for several panel blocks and threads: every path, the same bits as portable.
    @Test(arguments: [(8, 0), (4, 0), (4, 8), (5, 16)])
    func largeProductsAgreeAcrossPaths(_ bits: Int, _ bias: Int) throws {
        let (w, _, _, _) = try PackedMatrixTests.random(rows: 1000, columns: 1024, group: 32, seed: 15, bits: bits, bias: bias)
        let x = Self.values(30 * 1024, seed: 16), y = Self.values(30 * 1000, seed: 17)
        // One row (decode: several panels at a time) as well as 30.
        for m in [1, 30] {
        for arithmetic in PackedArithmetic.allCases {
            let portable = Self.run(w, x: x, ldx: 1024, m: m, y: y, ldy: 1000, accumulate: true,
                                    arithmetic: arithmetic, kernel: .portable)
            for kernel in Self.kernels.dropFirst() {
                let got = Self.run(w, x: x, ldx: 1024, m: m, y: y, ldy: 1000, accumulate: true,
                                   arithmetic: arithmetic, kernel: kernel)
                #expect(got.map(\.bitPattern) == portable.map(\.bitPattern), "\(kernel) \(arithmetic) \(bits)-bit, \(m) rows")
            }
        }
        }
    }

    /// The CPU's best path follows /proc/cpuinfo's flags, and each path's float32 and int8
    /// kernels are the documented ones.
    @Test func dispatchFollowsTheCPU() throws {
        #expect(PackedKernel.selected <= PackedKernel.supported)
        #expect(PackedKernel.avx512vnni.float32Path == .avx512 && PackedKernel.avx512vnni.int8Path == .avx512vnni)
        #expect(PackedKernel.avx512.float32Path == .avx512 && PackedKernel.avx512.int8Path == .avx2)
        #expect(PackedKernel.avx2.float32Path == .avx2 && PackedKernel.avx2.int8Path == .avx2)
        #expect(PackedKernel.portable.float32Path == .portable && PackedKernel.portable.int8Path == .portable)
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        #if arch(x86_64)
        let expected: PackedKernel =
            !flags.isSuperset(of: ["avx2", "fma"]) ? .portable
            : !flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"]) ? .avx2
            : !flags.isSuperset(of: ["avx512_vnni", "avx512vbmi"]) ? .avx512 : .avx512vnni
        #expect(PackedKernel.supported == expected, "flags say \(expected)")
        #else
        #expect(PackedKernel.supported == .portable)
        #endif
    }
}
