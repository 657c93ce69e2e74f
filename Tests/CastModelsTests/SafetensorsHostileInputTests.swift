import CastTensor
import Foundation
import Testing
@testable import CastModels

/// Malformed safetensors images: each throws a `SafetensorsError` naming the file, the
/// tensor or field, and what was expected; none traps or allocates what the file lacks.
@Suite struct SafetensorsHostileInputTests {
    /// An image from a header string (length prefix added) and `data` bytes.
    static func image(_ header: String, data: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + Array(header.utf8) + [UInt8](repeating: 0, count: data)
    }

    func parse(_ bytes: [UInt8]) throws -> SafetensorsError {
        let error = try #require(throws: SafetensorsError.self) { _ = try SafetensorsFile(bytes: bytes, name: "hostile.safetensors") }
        #expect(error.description.hasPrefix("hostile.safetensors: "))
        return error
    }

    func parse(_ header: String, data: Int) throws -> SafetensorsError { try parse(Self.image(header, data: data)) }

    @Test func everyTruncationThrows() throws {
        let full = try [UInt8](Data(contentsOf: SafetensorsTests.fixtureURL()))
        for cut in 0..<full.count {
            let e = try parse(Array(full[0..<cut]))
            #expect([.truncated, .badOffsets].contains(e.kind), "cut \(cut): \(e)")
        }
    }

    @Test func headerLengthPastTheEndOrAbsurd() throws {
        var e = try parse([1, 2, 3])
        #expect(e.kind == .truncated && e.field == "header length")
        for length: UInt64 in [.max, 1 << 40, 100_000_001] {
            var bytes: [UInt8] = []
            withUnsafeBytes(of: length.littleEndian) { bytes.append(contentsOf: $0) }
            e = try parse(bytes + Array("{}".utf8))
            #expect(e.kind == .tooLarge && e.field == "header length" && e.message.contains("\(length)"))
        }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(64).littleEndian) { bytes.append(contentsOf: $0) }
        e = try parse(bytes + Array("{}".utf8))
        #expect(e.kind == .truncated && e.message.contains("64"))
    }

    @Test func invalidJSONAndWrongStructure() throws {
        var e = try parse(#"{"a": {"dtype": "F32""#, data: 0)
        #expect(e.kind == .invalidHeader && e.field == "header")
        e = try parse("[1, 2]", data: 0)
        #expect(e.kind == .invalidHeader && e.message.contains("object"))
        e = try parse(#"{"a": 3}"#, data: 0)
        #expect(e.kind == .invalidHeader && e.field == "a")
        e = try parse(#"{"__metadata__": {"k": 1}}"#, data: 0)
        #expect(e.kind == .invalidHeader && e.field == "__metadata__.k")
        e = try parse(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, data: 4)
        #expect(e.kind == .invalidHeader && e.field == "a.data_offsets")
    }

    @Test func unknownDType() throws {
        let e = try parse(#"{"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#, data: 8)
        #expect(e.kind == .unsupportedDType && e.field == "w.dtype" && e.message.contains("I64") && e.message.contains("F32, F16, BF16"))
    }

    @Test func badShapes() throws {
        for shape in ["[-1]", "[1.5]", "[true]", "[\"2\"]", "3"] {
            let e = try parse(#"{"w": {"dtype": "F32", "shape": \#(shape), "data_offsets": [0, 4]}}"#, data: 4)
            #expect(e.kind == .invalidHeader && e.field == "w.shape", "\(shape): \(e)")
        }
        let e = try parse(#"{"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 4]}}"#, data: 4)
        #expect(e.kind == .tooLarge && e.field == "w.shape")
    }

    @Test func shapeOffsetMismatch() throws {
        let e = try parse(#"{"w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 8]}}"#, data: 8)
        #expect(e.kind == .shapeMismatch && e.field == "w" && e.message.contains("[2, 3]") && e.message.contains("12 bytes")
                && e.message.contains("hold 8"))
    }

    @Test func offsetsOutOfRangeOverlappingOrLeavingGaps() throws {
        var e = try parse(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, data: 8)
        #expect(e.kind == .badOffsets && e.field == "w.data_offsets" && e.message.contains("8 bytes"))
        e = try parse(#"{"w": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}"#, data: 8)
        #expect(e.kind == .badOffsets && e.message.contains("ends before it begins"))
        e = try parse(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#, data: 12)
        #expect(e.kind == .badOffsets && e.field == "b.data_offsets" && e.message.contains("'a'"))
        e = try parse(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#, data: 12)
        #expect(e.kind == .badOffsets && e.field == "b.data_offsets" && e.message.contains("expected 4"))
        e = try parse(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: 12)
        #expect(e.kind == .badOffsets && e.field == "data" && e.message.contains("12"))
        e = try parse(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}}"#, data: 4)
        #expect(e.kind == .invalidHeader && e.field == "a.data_offsets")
    }

    @Test func missingTensorIsNamed() throws {
        let file = try SafetensorsFile(url: try SafetensorsTests.fixtureURL())
        let e = try #require(throws: SafetensorsError.self) { _ = try file.tensor("nope") }
        #expect(e.kind == .missingTensor && e.field == "nope" && e.file.hasSuffix("fixture.safetensors"))
    }
}
