import CastTensor
import Foundation
import Testing
@testable import CastModels

/// The reader against a file written by the official `safetensors` package
/// (scripts/record_safetensors_fixture.py), and the writer against the same bytes.
@Suite struct SafetensorsTests {
    struct Expected: Decodable {
        struct Entry: Decodable { var dtype: String; var shape: [Int]; var bits: [UInt32] }
        var metadata: [String: String]
        var tensors: [String: Entry]
    }

    static func fixtureURL() throws -> URL { try DequantReference.url("fixture", "safetensors", "References/safetensors") }
    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: DequantReference.url("fixture", "json", "References/safetensors")))
    }

    /// Every tensor widens to exactly the float32 bit patterns numpy computed.
    @Test func readsOfficialFixtureExactly() throws {
        let file = try SafetensorsFile(url: try Self.fixtureURL())
        let expected = try Self.expected()
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.names) == Set(expected.tensors.keys))
        for (name, entry) in expected.tensors {
            let info = try file.info(name)
            #expect(info.dtype.rawValue == entry.dtype, "\(name)")
            #expect(info.shape == entry.shape, "\(name)")
            let t = try file.tensor(name)
            #expect(t.shape == entry.shape, "\(name)")
            #expect(t.scalars.prefix(entry.bits.count).map(\.bitPattern) == entry.bits, "\(name)")
            #expect(t.count == max(entry.bits.count, entry.shape.isEmpty ? 1 : 0), "\(name)")
        }
    }

    static func fixtureWriter(metadata: [String: String]) throws -> SafetensorsWriter {
        let file = try SafetensorsFile(url: try fixtureURL())
        var writer = SafetensorsWriter(metadata: metadata)
        for name in file.names { try writer.add(name, file.tensor(name), dtype: file.info(name).dtype) }
        return writer
    }

    /// Same tensors and metadata → the official library's bytes, header padding and tensor
    /// order included; on disk too.
    @Test func writerReproducesOfficialBytes() throws {
        let official = try [UInt8](Data(contentsOf: Self.fixtureURL()))
        let writer = try Self.fixtureWriter(metadata: ["format": "pt"])
        #expect(writer.bytes() == official)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.safetensors")
        try writer.write(to: url)
        try writer.write(to: url)   // overwriting an existing file is fine
        #expect(try [UInt8](Data(contentsOf: url)) == official)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.safetensors"], "no temp file left")
    }

    /// Writes the file that `record_safetensors_fixture.py check` reads with the official
    /// library (to $CAST_SAFETENSORS_WRITER_OUT when set) and reads it back here.
    @Test func writerOutputForOfficialCheck() throws {
        let path = ProcessInfo.processInfo.environment["CAST_SAFETENSORS_WRITER_OUT"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        let url = URL(fileURLWithPath: path)
        try Self.fixtureWriter(metadata: ["format": "pt", "producer": "cast"]).write(to: url)
        let back = try SafetensorsFile(url: url)
        #expect(back.metadata == ["format": "pt", "producer": "cast"])
        for (name, entry) in try Self.expected().tensors {
            #expect(try back.tensor(name).scalars.prefix(entry.bits.count).map(\.bitPattern) == entry.bits)
        }
        if ProcessInfo.processInfo.environment["CAST_SAFETENSORS_WRITER_OUT"] == nil { try? FileManager.default.removeItem(at: url) }
    }

    /// Narrowing rounds to nearest, ties to even, like numpy (F16) and torch (BF16).
    @Test func narrowingRoundsToNearestEven() throws {
        let values: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-9), 65520, 0x1p-25, .infinity, -0.0]
        let expectedBF16: [UInt16] = [0x3F80, 0x3F82, 0xBF80, 0x4780, 0x3300, 0x7F80, 0x8000]
        #expect(values.map(SafetensorsDType.bfloat16Bits) == expectedBF16)
        #expect(SafetensorsDType.bfloat16Bits(.nan) & 0x7FC0 == 0x7FC0)
        var writer = SafetensorsWriter()
        try writer.add("h", Tensor(values), dtype: .f16)
        try writer.add("b", Tensor(values), dtype: .bf16)
        let back = try SafetensorsFile(bytes: writer.bytes())
        #expect(try back.tensor("h").scalars.map(\.bitPattern) == values.map { Float(Float16($0)).bitPattern })
        #expect(try back.tensor("b").scalars.map(\.bitPattern) == expectedBF16.map { UInt32($0) << 16 })
    }

    @Test func writerRejectsDuplicatesAndBadFolders() throws {
        var writer = SafetensorsWriter()
        try writer.add("a", Tensor([1]))
        #expect(throws: SafetensorsError.self) { try writer.add("a", Tensor([2])) }
        #expect(throws: SafetensorsError.self) { try writer.add("__metadata__", Tensor([2])) }
        let missing = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/x.safetensors")
        let error = try #require(throws: SafetensorsError.self) { try writer.write(to: missing) }
        #expect(error.kind == .io && error.description.contains(missing.path))
    }
}
