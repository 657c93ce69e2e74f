import CastTensor
import Foundation
import Testing
@testable import CastModels

/// Malformed GGUF images: each must throw a `GGUFError` of the right kind naming the field
/// and byte offset, never trap or allocate what the file cannot hold.
@Suite struct GGUFHostileInputTests {
    func parse(_ bytes: [UInt8]) throws -> GGUFError {
        try #require(throws: GGUFError.self) { _ = try GGUFFile(bytes: bytes, name: "hostile.gguf") }
    }

    /// Every proper prefix of a valid file fails: `truncated` inside the header (at an
    /// offset no further than the cut), `dataOutOfBounds` once only tensor data is missing.
    @Test func everyTruncationThrows() throws {
        let full = try GGUFReaderTests.sampleWriter().bytes()
        let reference = try GGUFFile(bytes: full)
        let headerEnd = reference.dataOffset
        let lastDataEnd = reference.tensors.map { $0.fileOffset + $0.byteCount }.max()!
        for cut in 0..<lastDataEnd {
            let e = try parse(Array(full[0..<cut]))
            #expect(e.file == "hostile.gguf")
            if cut < headerEnd - 31 {
                // Only the padding before the data can be cut without touching a field.
                #expect(e.kind == .truncated || e.kind == .tooLarge, "cut \(cut): \(e)")
                #expect((e.offset ?? .max) <= cut, "cut \(cut): \(e)")
            } else {
                #expect(e.kind == .dataOutOfBounds || e.kind == .truncated, "cut \(cut): \(e)")
            }
        }
        #expect(try GGUFFile(bytes: Array(full[0..<lastDataEnd])).tensors.count == 3)
    }

    @Test func wrongMagic() throws {
        var b = ByteBuilder(); b.header(tensors: 0, kvs: 0, magic: "GGML")
        let e = try parse(b.bytes)
        #expect(e.kind == .badMagic && e.offset == 0 && e.field == "magic")
        #expect(e.description.contains("hostile.gguf"))
    }

    @Test func unsupportedVersion() throws {
        for version: UInt32 in [0, 1, 4, 0xFFFF_FFFF] {
            var b = ByteBuilder(); b.header(tensors: 0, kvs: 0, version: version)
            let e = try parse(b.bytes)
            #expect(e.kind == .unsupportedVersion && e.offset == 4 && e.message.contains("\(version)"))
        }
    }

    @Test func absurdCountsAreRejectedBeforeAllocating() throws {
        var b = ByteBuilder(); b.header(tensors: Int64.max, kvs: 0)
        var e = try parse(b.bytes)
        #expect(e.kind == .tooLarge && e.field == "tensor_count" && e.offset == 8)
        b = ByteBuilder(); b.header(tensors: -1, kvs: 0)
        e = try parse(b.bytes)
        #expect(e.kind == .invalidValue && e.field == "tensor_count")
        b = ByteBuilder(); b.header(tensors: 0, kvs: 1 << 50)
        e = try parse(b.bytes)
        #expect(e.kind == .tooLarge && e.field == "kv_count" && e.offset == 16)
    }

    @Test func hugeStringLength() throws {
        var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
        b.u64(UInt64.max); b.raw(Array("key".utf8)); b.raw([UInt8](repeating: 0, count: 32))
        let e = try parse(b.bytes)
        #expect(e.kind == .tooLarge && e.offset == 24 && e.field == "metadata[0].key")
    }

    @Test func hugeArrayCount() throws {
        for (elementType, count) in [(UInt32(8), UInt64(1) << 40), (0, 1 << 62), (9, 1 << 33), (7, 100)] {
            var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
            b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(elementType); b.u64(count); b.raw([1, 2, 3])
            let arrayCountAt = 24 + 8 + 21 + 4 + 4
            let e = try parse(b.bytes)
            #expect(e.kind == .tooLarge && e.offset == arrayCountAt, "\(e)")
            #expect(e.field.hasPrefix("tokenizer.ggml.tokens"))
        }
    }

    @Test func unknownValueType() throws {
        var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
        b.string("k"); b.u32(13); b.u32(0)
        let e = try parse(b.bytes)
        #expect(e.kind == .unknownValueType && e.offset == 24 + 9 && e.message.contains("13"))
        // ...also as an array element type.
        b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
        b.string("k"); b.u32(9); b.u32(99); b.u64(0)
        #expect(try parse(b.bytes).kind == .unknownValueType)
    }

    @Test func badBoolAndDuplicateKey() throws {
        var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
        b.string("flag"); b.u32(7); b.raw([2])
        var e = try parse(b.bytes)
        #expect(e.kind == .invalidValue && e.field == "flag" && e.offset == 24 + 12 + 4)
        b = ByteBuilder(); b.header(tensors: 0, kvs: 2)
        b.string("a"); b.u32(4); b.u32(1)
        let second = b.count
        b.string("a"); b.u32(4); b.u32(2)
        e = try parse(b.bytes)
        #expect(e.kind == .duplicate && e.offset == second)
    }

    @Test func deeplyNestedArrays() throws {
        var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
        b.string("deep"); b.u32(9)
        for _ in 0..<100 { b.u32(9); b.u64(1) }
        b.u32(0); b.u64(0)
        let e = try parse(b.bytes)
        #expect(e.kind == .invalidValue && e.message.contains("nested"))
    }

    @Test func badAlignment() throws {
        for (type, value): (UInt32, UInt32) in [(4, 0), (4, 48), (5, 32)] {
            var b = ByteBuilder(); b.header(tensors: 0, kvs: 1)
            b.string("general.alignment"); b.u32(type); b.u32(value)
            let e = try parse(b.bytes)
            #expect(e.field == "general.alignment" && e.offset == 24 + 8 + 17)
            #expect(e.kind == (type == 4 ? .invalidValue : .typeMismatch))
        }
    }

    /// One tensor info, with data padded to 32 bytes after it.
    func tensorFile(name: String = "t", dims: [Int64], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 64,
                    count: Int64 = 1, extra: ((inout ByteBuilder) -> Void)? = nil) -> (bytes: [UInt8], infoAt: Int) {
        var b = ByteBuilder(); b.header(tensors: count, kvs: 0)
        let infoAt = b.count
        b.string(name); b.u32(UInt32(dims.count)); dims.forEach { b.i64($0) }; b.u32(type); b.u64(offset)
        extra?(&b)
        b.pad(to: 32)
        b.raw([UInt8](repeating: 0, count: dataBytes))
        return (b.bytes, infoAt)
    }

    @Test func tensorInfoFields() throws {
        var t = tensorFile(dims: [1, 1, 1, 1, 1])
        var e = try parse(t.bytes)
        #expect(e.kind == .invalidValue && e.field == "tensor \"t\".n_dims" && e.offset == t.infoAt + 9)
        t = tensorFile(dims: [4, -1])
        e = try parse(t.bytes)
        #expect(e.kind == .invalidValue && e.field == "tensor \"t\".ne[1]" && e.offset == t.infoAt + 13 + 8)
        t = tensorFile(dims: [1 << 32, 1 << 32])
        e = try parse(t.bytes)
        #expect(e.kind == .overflow && e.field == "tensor \"t\".ne[1]")
        t = tensorFile(dims: [16], type: 5)
        e = try parse(t.bytes)
        #expect(e.kind == .unknownTensorType && e.offset == t.infoAt + 13 + 8 && e.message.contains("5"))
        t = tensorFile(dims: [16], type: GGMLType.q4_0.rawValue)
        e = try parse(t.bytes)
        #expect(e.kind == .invalidValue && e.message.contains("block size 32"))
    }

    @Test func tensorDataPlacement() throws {
        var t = tensorFile(dims: [16], offset: 8)
        var e = try parse(t.bytes)
        #expect(e.kind == .misaligned && e.field == "tensor \"t\".offset" && e.offset == t.infoAt + 9 + 4 + 8 + 4)
        t = tensorFile(dims: [16], offset: 32)   // 64 bytes of data, 64 bytes present from 0
        e = try parse(t.bytes)
        #expect(e.kind == .dataOutOfBounds && e.message.contains("64 bytes"))
        t = tensorFile(dims: [16], offset: UInt64.max - 31)
        e = try parse(t.bytes)
        #expect(e.kind == .dataOutOfBounds)
        t = tensorFile(dims: [8], offset: UInt64(Int64.max) - 31)
        e = try parse(t.bytes)
        #expect(e.kind == .dataOutOfBounds)
        // Two tensors whose data overlap: the second starts inside the first.
        t = tensorFile(dims: [16], count: 2, extra: { b in
            b.string("u"); b.u32(1); b.i64(8); b.u32(0); b.u64(32)
        })
        e = try parse(t.bytes)
        #expect(e.kind == .overlapping && e.field == "tensor \"u\".offset" && e.message.contains("\"t\""))
        // Duplicate names.
        t = tensorFile(dims: [8], count: 2, extra: { b in
            b.string("t"); b.u32(1); b.i64(8); b.u32(0); b.u64(32)
        })
        e = try parse(t.bytes)
        #expect(e.kind == .duplicate)
    }

    @Test func missingFileAndEmptyFile() throws {
        let e = try #require(throws: GGUFError.self) { _ = try GGUFFile(path: "/nonexistent/x.gguf") }
        #expect(e.kind == .io && e.file == "/nonexistent/x.gguf")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cast-empty-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data().write(to: url)
        let empty = try #require(throws: GGUFError.self) { _ = try GGUFFile(url: url) }
        #expect(empty.kind == .truncated && empty.offset == 0 && empty.field == "magic")
    }

    /// Seeded random corruption of a valid file (1–4 bytes overwritten, header region
    /// favoured): each image either parses, with every tensor dequantizable or cleanly
    /// refused, or throws a GGUFError. A trap or a runaway allocation fails the run.
    @Test func randomCorruptionNeverCrashes() throws {
        let valid = try GGUFReaderTests.sampleWriter().bytes()
        let headerEnd = try GGUFFile(bytes: valid).dataOffset
        var rng = SeededGenerator(seed: 7)
        var parsed = 0, rejected = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let limit = Bool.random(using: &rng) ? headerEnd : bytes.count
                let at = Int.random(in: 0..<limit, using: &rng)
                bytes[at] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : [0, 0xFF, 0x7F, 0x80][Int.random(in: 0..<4, using: &rng)]
            }
            do {
                let file = try GGUFFile(bytes: bytes, name: "fuzz")
                for info in file.tensors where Dequantize.supports(info.type) { _ = try file.dequantize(info) }
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        #expect(parsed + rejected == 3000)
        #expect(rejected > 500 && parsed > 100, "parsed \(parsed), rejected \(rejected)")
    }
}
