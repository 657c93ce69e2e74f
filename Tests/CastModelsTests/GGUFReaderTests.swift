import Foundation
import Testing
@testable import CastModels

/// Round trips through `GGUFWriter` and the reader: every metadata value type, nested
/// arrays, tensor infos, alignment and data offsets; typed accessors and their errors.
@Suite struct GGUFReaderTests {
    static func sampleWriter(alignment: Int = 32) throws -> GGUFWriter {
        var w = try GGUFWriter(alignment: alignment)
        w.set("general.architecture", .string("llama"))
        w.set("u8", .uint8(200)); w.set("i8", .int8(-7)); w.set("u16", .uint16(60000)); w.set("i16", .int16(-30000))
        w.set("u32", .uint32(4_000_000_000)); w.set("i32", .int32(-2_000_000_000))
        w.set("f32", .float32(1.5)); w.set("bool", .bool(true)); w.set("string", .string("héllo ▁wörld"))
        w.set("u64", .uint64(1 << 40)); w.set("i64", .int64(-(1 << 40))); w.set("f64", .float64(-2.25))
        w.set("tokens", .array(.string(["<s>", "", "Ġthe", "▁x"])))
        w.set("scores", .array(.float32([-1, 0.5, 2])))
        w.set("types", .array(.int32([1, 3, -2])))
        w.set("flags", .array(.bool([true, false])))
        w.set("nested", .array(.array([.uint8([1, 2]), .uint8([]), .uint8([3])])))
        w.set("empty", .array(.string([])))
        try w.addTensor("a.weight", shape: [3, 5], values: (0..<15).map(Float.init))
        try w.addTensor("b.bias", shape: [7], values: (0..<7).map { Float($0) * -0.5 })
        try w.addTensor("q.weight", dimensions: [32, 2], type: .q8_0, data: [UInt8](repeating: 1, count: 68))
        return w
    }

    @Test func roundTripsEveryValueType() throws {
        let file = try GGUFFile(bytes: Self.sampleWriter().bytes(), name: "sample")
        let m = file.metadata
        #expect(file.version == 3)
        #expect(m.count == 19)
        #expect(m.keys.first == "general.architecture")
        #expect(try file.architecture == "llama")
        #expect(m["u8"] == .uint8(200)); #expect(m["i8"] == .int8(-7))
        #expect(m["u16"] == .uint16(60000)); #expect(m["i16"] == .int16(-30000))
        #expect(try m.int("u32") == 4_000_000_000); #expect(try m.int("i32") == -2_000_000_000)
        #expect(try m.float("f32") == 1.5); #expect(try m.bool("bool"))
        #expect(try m.string("string") == "héllo ▁wörld")
        #expect(try m.int("u64") == 1 << 40); #expect(try m.int("i64") == -(1 << 40))
        #expect(try m.float("f64") == -2.25)
        #expect(try m.strings("tokens") == ["<s>", "", "Ġthe", "▁x"])
        #expect(try m.floats("scores") == [-1, 0.5, 2])
        #expect(try m.int32s("types") == [1, 3, -2])
        #expect(try m.ints("types") == [1, 3, -2])
        #expect(try m.bools("flags") == [true, false])
        #expect(try m.array("nested") == .array([.uint8([1, 2]), .uint8([]), .uint8([3])]))
        #expect(try m.strings("empty") == [])
        #expect(try m.intIfPresent("absent") == nil)
        #expect(try m.stringIfPresent("string") == "héllo ▁wörld")
    }

    @Test func readsTensorInfosAndData() throws {
        let file = try GGUFFile(bytes: Self.sampleWriter().bytes(), name: "sample")
        #expect(file.tensors.map(\.name) == ["a.weight", "b.bias", "q.weight"])
        let a = try file.tensorInfo("a.weight")
        #expect(a.dimensions == [5, 3]); #expect(a.shape == [3, 5]); #expect(a.type == .f32)
        #expect(a.elementCount == 15); #expect(a.byteCount == 60); #expect(a.rowLength == 5); #expect(a.rowCount == 3)
        let b = try file.tensorInfo("b.bias")
        #expect(b.offset == 64)   // 60 bytes rounded up to the 32-byte alignment
        let q = try file.tensorInfo("q.weight")
        #expect(q.shape == [2, 32]); #expect(q.byteCount == 68); #expect(q.rowByteCount == 34)
        #expect(file.dataOffset % 32 == 0)
        let raw = file.rawData(a)
        #expect(raw.loadUnaligned(fromByteOffset: 4 * 7, as: Float.self) == 7)
        #expect(file.contains(tensor: "b.bias") && !file.contains(tensor: "c"))
    }

    @Test func honoursCustomAlignment() throws {
        let file = try GGUFFile(bytes: Self.sampleWriter(alignment: 64).bytes(), name: "aligned64")
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(try file.tensorInfo("b.bias").offset == 64)
        #expect(try file.tensorInfo("q.weight").offset == 128)
    }

    @Test func mapsFilesFromDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cast-gguf-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.sampleWriter().write(to: url)
        let file = try GGUFFile(url: url)
        #expect(file.path == url.path)
        #expect(try file.metadata.strings("tokens").count == 4)
        #expect(file.rawData(try file.tensorInfo("b.bias")).loadUnaligned(fromByteOffset: 4, as: Float.self) == -0.5)
    }

    @Test func accessorErrorsNameKeyAndTypes() throws {
        let m = try GGUFFile(bytes: Self.sampleWriter().bytes(), name: "sample").metadata
        let missing = try #require(throws: GGUFError.self) { try m.string("general.nope") }
        #expect(missing.kind == .missingKey && missing.field == "general.nope" && missing.file == "sample")
        let wrong = try #require(throws: GGUFError.self) { try m.string("u32") }
        #expect(wrong.kind == .typeMismatch && wrong.field == "u32")
        #expect(wrong.message.contains("expected string") && wrong.message.contains("uint32"))
        let arr = try #require(throws: GGUFError.self) { try m.floats("tokens") }
        #expect(arr.message.contains("array<string>"))
        let notInt = try #require(throws: GGUFError.self) { try m.int("f32") }
        #expect(notInt.kind == .typeMismatch)
        let optionalWrongType = try #require(throws: GGUFError.self) { try m.boolIfPresent("string") }
        #expect(optionalWrongType.kind == .typeMismatch)
        let noTensor = try #require(throws: GGUFError.self) {
            try GGUFFile(bytes: Self.sampleWriter().bytes()).tensorInfo("zzz")
        }
        #expect(noTensor.kind == .missingKey && noTensor.field.contains("zzz"))
    }
}
