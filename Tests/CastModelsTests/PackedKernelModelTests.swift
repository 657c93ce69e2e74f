import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// The kernel paths this CPU supports (AVX2 + FMA, AVX-512, AVX-512 VNNI) against the
/// portable kernels, bit for bit, on the weights cast really runs: synthetic blocks of every
/// GGUF format we pack, the smallest tensor of each format in each test model, and a whole
/// model run with the AVX2 path forced (the machines without AVX-512 run it).
@Suite(.serialized) struct PackedKernelModelTests {
    static let vectorKernels = PackedKernel.allCases.filter { $0 != .portable && $0 <= PackedKernel.supported }

    /// Products (float32 and int8; 13 rows: a whole tile and a tail; and one row, decode's
    /// product; accumulating onto random values) and dequantized rows of `w` on every vector
    /// path equal the portable path's, in whichever layout (8, 5 or 4 bits) holds its q.
    static func compareKernels(_ w: PackedMatrix, seed: UInt64, name: String) {
        for m in [13, 1] { compareKernels(w, rows: m, seed: seed, name: "\(name) \(w.bits)-bit, \(m) rows") }
    }

    static func compareKernels(_ w: PackedMatrix, rows m: Int, seed: UInt64, name: String) {
        let x = Tensor.randomNormal([m, w.columns], seed: seed).scalars
        let start = Tensor.randomNormal([m, w.rows], seed: seed + 1).scalars
        func product(_ arithmetic: PackedArithmetic, _ kernel: PackedKernel) -> [UInt32] {
            var y = start
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    w.multiply(xp.baseAddress!, ldx: w.columns, rows: m, into: yp.baseAddress!, ldy: w.rows,
                               accumulate: true, arithmetic: arithmetic, kernel: kernel)
                }
            }
            return y.map(\.bitPattern)
        }
        func dequantized(_ kernel: PackedKernel) -> [UInt32] {
            var out = [Float](repeating: .nan, count: w.count)
            out.withUnsafeMutableBufferPointer { w.dequantizeRows(0..<w.rows, into: $0.baseAddress!, kernel: kernel) }
            return out.map(\.bitPattern)
        }
        let reference = (float32: product(.float32, .portable), int8: product(.int8, .portable),
                         weights: dequantized(.portable))
        for kernel in vectorKernels {
            #expect(product(.float32, kernel) == reference.float32, "\(name): float32 product on \(kernel)")
            #expect(product(.int8, kernel) == reference.int8, "\(name): int8 product on \(kernel)")
            #expect(dequantized(kernel) == reference.weights, "\(name): dequantized on \(kernel)")
        }
    }

    @Test(arguments: PackedWeightsTests.groupTypes)
    func syntheticBlocksOfEveryFormat(_ typeName: String) throws {
        let ref = try #require(try DequantReference.synthetic().first { $0.type == typeName })
        var writer = try GGUFWriter()
        try writer.addTensor("w", dimensions: ref.shape.reversed(), type: DequantizeTests.type(named: typeName),
                             data: DequantReference.bytes(ref.raw))
        let file = try GGUFFile(bytes: writer.bytes(), name: "synthetic-\(typeName)")
        let packed = try #require(try file.packed(file.tensorInfo("w")))
        Self.compareKernels(packed, seed: 1, name: typeName)
    }

    /// The smallest matrix of each quantized format in the model (the token embedding too,
    /// where it is the only one of its format).
    @Test(arguments: TestModels.names)
    func realTensorsOfEveryFormat(_ model: String) throws {
        let file = try TestModels.open(model)
        var smallest: [String: GGUFTensorInfo] = [:]
        for info in file.tensors where info.shape.count == 2 {
            let count = info.shape.reduce(1, *)
            if let current = smallest[info.type.name], current.shape.reduce(1, *) <= count { continue }
            smallest[info.type.name] = info
        }
        var checked: [String] = []
        for (type, info) in smallest.sorted(by: { $0.key < $1.key }) {
            guard let packed = try file.packed(info) else { continue }
            Self.compareKernels(packed, seed: 2, name: "\(model) \(info.name) (\(type))")
            checked.append(type)
        }
        #expect(checked.count >= 2, "\(model): packed formats \(checked)")
        print("packed kernels on \(model): formats \(checked) on \(Self.vectorKernels.map(\.rawValue))")
    }

    /// smollm2-135m on the AVX2 path (what an AVX2-only CPU runs): the forward-reference
    /// test's bounds hold, and the logits are the same bits as on the default path. (The
    /// path is forced for the whole process: a test forcing another one at the same time
    /// would make this one check that path instead; every path gives these bits.)
    @Test func wholeModelOnTheAVX2Path() throws {
        guard PackedKernel.supported >= .avx2 else { return }
        let name = "smollm2-135m"
        let model = try TestModels.model(name, weights: .packed)
        let ids = try #require(ForwardReference.load(name).prompts.first).ids
        let defaultLogits = try model.logits([ids])
        try PackedMatrix.withKernel(.avx2) {
            try ForwardReferenceTests().logitsMatchReferences(model: name)
            let avx2Logits = try model.logits([ids])
            #expect(avx2Logits.scalars.map(\.bitPattern) == defaultLogits.scalars.map(\.bitPattern))
        }
    }
}
