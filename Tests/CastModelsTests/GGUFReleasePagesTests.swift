import Foundation
import Testing
@testable import CastModels

/// `GGUFFile.releasePages(of:)` drops a tensor's resident pages after a load copied them out;
/// the data must stay readable (paged in again from the file) and in-memory files untouched.
@Suite struct GGUFReleasePagesTests {
    static func writer() throws -> GGUFWriter {
        var writer = try GGUFWriter()
        // Several pages of data so that whole pages lie inside each tensor.
        try writer.addTensor("a", shape: [64, 512], values: (0..<(64 * 512)).map { Float($0 % 1000) * 0.5 })
        try writer.addTensor("b", shape: [3, 5], values: (0..<15).map { Float($0) - 7 })
        return writer
    }

    @Test func mappedDataReadsTheSameAfterRelease() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.writer().write(to: url)
        let file = try GGUFFile(path: url.path)
        for name in ["a", "b"] {
            let info = try file.tensorInfo(name)
            let before = try file.dequantize(info).scalars
            file.releasePages(of: info)
            let after = try file.dequantize(info).scalars
            #expect(after == before, "\(name)")
        }
        #expect(try file.dequantize("a").scalars[513] == Float(513 % 1000) * 0.5)
    }

    @Test func inMemoryFileIsLeftAlone() throws {
        let file = try GGUFFile(bytes: Self.writer().bytes())
        let info = try file.tensorInfo("a")
        let before = try file.dequantize(info).scalars
        file.releasePages(of: info)
        #expect(try file.dequantize(info).scalars == before)
    }
}
