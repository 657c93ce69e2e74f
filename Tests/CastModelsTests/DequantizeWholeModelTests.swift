import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// Every tensor of every cached model dequantizes to finite values of plausible size (a
/// corrupted scale or a wrong block stride shows up as NaN/Inf or huge magnitudes). Prints
/// the time taken: the "dequantize a whole model" figure, meaningful in release builds.
/// Debug builds (~20× slower loops) check only the smallest model.
@Suite struct DequantizeWholeModelTests {
    #if DEBUG
    static let models = ["smollm2-135m"]
    #else
    static let models = TestModels.names
    #endif

    @Test(arguments: models)
    func everyTensorDequantizes(_ model: String) throws {
        let file = try TestModels.open(model)
        // One buffer, sized and touched up front, so the timing is dequantization alone
        // (first-touch page faults of fresh buffers cost ~0.8 s/GiB more in this VM).
        var buffer = Tensor(zeros: [file.tensors.map(\.elementCount).max() ?? 0])
        var elements = 0
        var seconds = 0.0
        var byType: [String: (elements: Int, seconds: Double)] = [:]
        for info in file.tensors {
            let start = DispatchTime.now().uptimeNanoseconds
            try file.dequantize(info, into: &buffer)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            seconds += elapsed
            elements += info.elementCount
            byType[info.type.name, default: (0, 0)].elements += info.elementCount
            byType[info.type.name, default: (0, 0)].seconds += elapsed
            #expect(buffer.shape == info.shape)
            // Sum of squares through BLAS (fast in debug too); NaN/Inf anywhere propagates.
            var sumSquares: Float = 0
            BLAS.sgemm(transposeA: false, transposeB: true, m: 1, n: 1, k: info.elementCount,
                       a: buffer.data, lda: info.elementCount, b: buffer.data, ldb: info.elementCount,
                       beta: 0, c: &sumSquares, ldc: 1)
            let rms = (sumSquares / Float(max(info.elementCount, 1))).squareRoot()
            #expect(rms.isFinite && rms > 0 && rms < 1e3, "\(info.name): rms \(rms)")
        }
        print("dequantize \(model): \(elements) elements in \(String(format: "%.3f", seconds)) s "
              + "(\(String(format: "%.0f", Double(elements) / seconds / 1e6)) M elements/s, \(Parallel.threads) threads); "
              + byType.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.0f", Double($0.value.elements) / $0.value.seconds / 1e6)) M/s" }
                  .joined(separator: ", "))
    }
}
