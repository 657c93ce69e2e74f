import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// References recorded by scripts/record_dequant_reference.py with the `gguf` package.
enum DequantReference {
    struct Row: Decodable { var row: Int; var first: [Float]; var last: [Float] }
    struct RealTensor: Decodable {
        var name, type: String
        var shape: [Int]
        var rows: [Row]
        var sum: Double
        var sum_squares: Double
        var sums_cover: String
    }
    struct Model: Decodable { var model: String; var tensors: [RealTensor] }
    struct Synthetic: Decodable {
        var type: String
        var shape: [Int]
        var raw: String
        var values: String
        var sum: Double
        var sum_squares: Double
    }
    struct SyntheticIndex: Decodable { var tensors: [Synthetic] }

    static func url(_ name: String, _ ext: String, _ subdirectory: String = "References") throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: subdirectory),
                     "missing reference \(subdirectory)/\(name).\(ext)")
    }

    static func model(_ name: String) throws -> Model {
        try JSONDecoder().decode(Model.self, from: Data(contentsOf: url("dequant-\(name)", "json")))
    }

    static func synthetic() throws -> [Synthetic] {
        try JSONDecoder().decode(SyntheticIndex.self, from: Data(contentsOf: url("index", "json", "References/synthetic"))).tensors
    }

    static func bytes(_ file: String) throws -> [UInt8] {
        let parts = file.split(separator: ".")
        return try [UInt8](Data(contentsOf: url(String(parts[0]), String(parts[1]), "References/synthetic")))
    }
}

/// Sums in float64, in order, as the references' whole-tensor checks.
func sums(_ values: UnsafeBufferPointer<Float>) -> (Double, Double) {
    var s = 0.0, ss = 0.0
    for v in values { let d = Double(v); s += d; ss += d * d }
    return (s, ss)
}

func close(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    abs(a - b) <= relative * max(abs(a), abs(b), 1e-30)
}

/// Every dequantizer against the `gguf` package: exact equality on seeded random blocks of
/// every supported type, and on real tensors of every type in the three cached models.
@Suite struct DequantizeTests {
    static let syntheticTypes = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]

    static func type(named name: String) throws -> GGMLType {
        try #require(GGMLType.allCases.first { $0.name == name }, "unknown type \(name)")
    }

    @Test(arguments: syntheticTypes)
    func syntheticBlocksMatchGGUFPackage(_ typeName: String) throws {
        let ref = try #require(try DequantReference.synthetic().first { $0.type == typeName })
        let type = try Self.type(named: typeName)
        let raw = try DequantReference.bytes(ref.raw)
        let expected = try DequantReference.bytes(ref.values).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var writer = try GGUFWriter()
        try writer.addTensor("w", dimensions: ref.shape.reversed(), type: type, data: raw)
        let file = try GGUFFile(bytes: writer.bytes(), name: "synthetic-\(typeName)")

        let whole = try file.dequantize("w")
        #expect(whole.shape == ref.shape)
        let mismatches = zip(whole.scalars, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(expected.count) differ; first at \(mismatches.first.map { "\($0.offset): \($0.element)" } ?? "")")
        let (s, ss) = whole.withUnsafeBufferPointer(sums)
        #expect(close(s, ref.sum) && close(ss, ref.sum_squares))

        // Row ranges and single rows decode the same bytes.
        let rowLength = ref.shape[1]
        let middle = try file.dequantizeRows("w", 1..<3)
        #expect(middle.shape == [2, rowLength])
        #expect(middle.scalars == Array(expected[rowLength..<(3 * rowLength)]))
        var last = [Float](repeating: .nan, count: rowLength)
        try last.withUnsafeMutableBufferPointer { try file.dequantizeRow(file.tensorInfo("w"), 3, into: $0.baseAddress!) }
        #expect(last == Array(expected[(3 * rowLength)...]))
    }

    @Test func f32RoundTripsExactly() throws {
        let values: [Float] = (0..<96).map { Float($0) * 0.37 - 11 }
        var writer = try GGUFWriter()
        try writer.addTensor("x", shape: [3, 32], values: values)
        let t = try GGUFFile(bytes: writer.bytes()).dequantize("x")
        #expect(t.shape == [3, 32] && t.scalars == values)
    }

    @Test(arguments: TestModels.names)
    func realTensorsMatchGGUFPackage(_ model: String) throws {
        let file = try TestModels.open(model)
        let reference = try DequantReference.model(model)
        var seenTypes = Set<String>()
        for ref in reference.tensors {
            let info = try file.tensorInfo(ref.name)
            #expect(info.type.name == ref.type, "\(ref.name)")
            #expect(info.shape == ref.shape, "\(ref.name)")
            seenTypes.insert(ref.type)
            let rowLength = info.rowLength
            if ref.sums_cover == "tensor" {
                let t = try file.dequantize(info)
                #expect(t.shape == ref.shape)
                let (s, ss) = t.withUnsafeBufferPointer(sums)
                #expect(close(s, ref.sum) && close(ss, ref.sum_squares), "\(ref.name): \(s) \(ss) vs \(ref.sum) \(ref.sum_squares)")
                let flat = t.scalars
                for r in ref.rows {
                    let row = flat[(r.row * rowLength)..<((r.row + 1) * rowLength)]
                    #expect(Array(row.prefix(64)) == r.first, "\(ref.name) row \(r.row) head")
                    #expect(Array(row.suffix(64)) == r.last, "\(ref.name) row \(r.row) tail")
                }
            } else {
                var s = 0.0, ss = 0.0
                for r in ref.rows {
                    let row = try file.dequantizeRows(info, r.row..<(r.row + 1))
                    let values = row.scalars
                    #expect(Array(values.prefix(64)) == r.first, "\(ref.name) row \(r.row) head")
                    #expect(Array(values.suffix(64)) == r.last, "\(ref.name) row \(r.row) tail")
                    let (a, b) = row.withUnsafeBufferPointer(sums)
                    s += a; ss += b
                }
                #expect(close(s, ref.sum) && close(ss, ref.sum_squares), "\(ref.name) rows")
            }
        }
        // Every type in the file has a reference.
        #expect(Set(file.tensors.map(\.type.name)) == seenTypes)
    }

    @Test func unsupportedTypesAndBadRowsThrow() throws {
        var writer = try GGUFWriter()
        try writer.addTensor("q2", dimensions: [256, 2], type: .q2_K, data: [UInt8](repeating: 0, count: 168))
        try writer.addTensor("f", shape: [4, 32], values: [Float](repeating: 1, count: 128))
        let file = try GGUFFile(bytes: writer.bytes(), name: "mixed")
        let e = try #require(throws: GGUFError.self) { try file.dequantize("q2") }
        #expect(e.kind == .unsupportedTensorType && e.field.contains("q2") && e.message.contains("Q2_K"))
        let range = try #require(throws: GGUFError.self) { try file.dequantizeRows("f", 3..<5) }
        #expect(range.kind == .badRange && range.message.contains("0..<4"))
        var buffer = [Float](repeating: 0, count: 32)
        let row = try #require(throws: GGUFError.self) {
            try buffer.withUnsafeMutableBufferPointer { try file.dequantizeRow(file.tensorInfo("f"), -1, into: $0.baseAddress!) }
        }
        #expect(row.kind == .badRange)
        #expect(try file.dequantizeRows("f", 2..<2).shape == [0, 32])
    }
}
