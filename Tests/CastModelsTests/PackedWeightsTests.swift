import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// Quantized GGUF tensors packed for the 8-bit kernels hold exactly the values the `gguf`
/// package dequantizes, for every group format, on synthetic blocks and on every quantized
/// tensor of the real models.
@Suite struct PackedWeightsTests {
    static let groupTypes = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]

    @Test(arguments: groupTypes)
    func syntheticBlocksEqualGGUFPackage(_ typeName: String) throws {
        let ref = try #require(try DequantReference.synthetic().first { $0.type == typeName })
        let type = try DequantizeTests.type(named: typeName)
        var writer = try GGUFWriter()
        try writer.addTensor("w", dimensions: ref.shape.reversed(), type: type, data: DequantReference.bytes(ref.raw))
        let file = try GGUFFile(bytes: writer.bytes(), name: "synthetic-\(typeName)")
        let expected = try DequantReference.bytes(ref.values).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let packed = try #require(try file.packed(file.tensorInfo("w")))
        #expect(packed.shape == ref.shape)
        let values = packed.dequantized().scalars
        let mismatches = zip(values, expected).filter { $0.0.bitPattern != $0.1.bitPattern }.count
        #expect(mismatches == 0, "\(mismatches) of \(expected.count) differ")

        // Products read the same values.
        let x = Tensor.randomNormal([3, ref.shape[1]], seed: 1)
        let y = try Linear.forward(x, weight: .packed(packed))
        let reference = try Linear.forward(x, weight: Tensor(expected, shape: ref.shape))
        let scale = max(1, reference.scalars.map(abs).max() ?? 1)
        #expect(zip(y.scalars, reference.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * scale })
        let bits = ["Q4_0", "Q4_1", "Q4_K"].contains(typeName) ? 4 : ["Q5_0", "Q5_1", "Q5_K"].contains(typeName) ? 5 : 8
        #expect(packed.bits == (PackedMatrix.nibblesAllowed ? bits : 8))
        #expect(packed.offsets == Self.storesOffsets(typeName))
    }

    /// Whether a packed matrix of the format stores its offsets: all but the formats whose
    /// offsets are all +0 (Q4_0, Q5_0, Q8_0, Q6_K), which leave them out unless
    /// CAST_PACKED_OFFSETS=1.
    static func storesOffsets(_ typeName: String) -> Bool {
        !PackedMatrix.offsetsOmittable || !["Q4_0", "Q5_0", "Q8_0", "Q6_K"].contains(typeName)
    }

    /// The C packer and the Swift decoder give the same matrix (layout, values, products).
    @Test(arguments: groupTypes)
    func cPackingIsTheSwiftDecoder(_ typeName: String) throws {
        let ref = try #require(try DequantReference.synthetic().first { $0.type == typeName })
        var writer = try GGUFWriter()
        try writer.addTensor("w", dimensions: ref.shape.reversed(), type: DequantizeTests.type(named: typeName),
                             data: DequantReference.bytes(ref.raw))
        let file = try GGUFFile(bytes: writer.bytes(), name: "synthetic-\(typeName)")
        let c = try #require(try file.packed(file.tensorInfo("w"), inC: true))
        let swift = try #require(try file.packed(file.tensorInfo("w"), inC: false))
        #expect(c.bits == swift.bits && c.bias == swift.bias && c.offsets == swift.offsets && c.byteCount == swift.byteCount)
        #expect(c.dequantized().scalars.map(\.bitPattern) == swift.dequantized().scalars.map(\.bitPattern))
        let x = Tensor.randomNormal([2, ref.shape[1]], seed: 3)
        let a = try Linear.forward(x, weight: .packed(c)), b = try Linear.forward(x, weight: .packed(swift))
        #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern))
    }

    @Test func floatTypesAreNotPacked() throws {
        var writer = try GGUFWriter()
        try writer.addTensor("x", shape: [2, 32], values: [Float](repeating: 1, count: 64))
        let file = try GGUFFile(bytes: writer.bytes())
        #expect(try file.packed(file.tensorInfo("x")) == nil)
    }

    @Test(arguments: TestModels.names)
    func everyQuantizedTensorOfARealModelPacksExactly(_ model: String) throws {
        let file = try TestModels.open(model)
        var checked: [String: Int] = [:]
        for info in file.tensors where info.shape.count == 2 {
            guard let packed = try file.packed(info) else { continue }
            let dense = try file.dequantize(info)
            let values = packed.dequantized()
            #expect(values.shape == dense.shape, "\(info.name)")
            var mismatches = 0
            for i in 0..<dense.count where values.data[i].bitPattern != dense.data[i].bitPattern { mismatches += 1 }
            #expect(mismatches == 0, "\(info.name) (\(info.type.name)): \(mismatches) values differ")
            let type = info.type.name
            let bits = ["Q4_0", "Q4_1", "Q4_K"].contains(type) ? 4 : ["Q5_0", "Q5_1", "Q5_K"].contains(type) ? 5 : 8
            #expect(packed.bits == (PackedMatrix.nibblesAllowed ? bits : 8), "\(info.name) (\(type))")
            // q in 4 or 5 bits: 0.75 or 0.875 bytes a weight (groups of 32) instead of 1.25; all-zero
            // offsets left out: 0.5 bytes a weight fewer with groups of 32 (0.25 with 16).
            #expect(packed.offsets == Self.storesOffsets(type), "\(info.name) (\(type))")
            let panels = (info.rowCount + 15) / 16, groups = info.rowLength / packed.group
            let factorBytes = packed.offsets ? 128 : 64
            #expect(packed.byteCount == panels * groups * (16 * packed.group * packed.bits / 8 + factorBytes), "\(info.name)")
            checked[info.type.name, default: 0] += 1
        }
        #expect(checked.count >= 2, "\(model): packed types \(checked)")
    }
}
