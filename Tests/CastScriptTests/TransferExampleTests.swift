import CastAdapters
import CastModels
import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// examples/cast_transfer.cast through `cast run`, in a temporary folder (it exports to
/// out/cast-transfer there).
@Suite("cast run examples/cast_transfer.cast", .serialized)
struct TransferExampleTests {
    static let golden = TestSupport.repository.appendingPathComponent("Tests/CastScriptTests/Golden/cast_transfer.txt")
    static let script = TestSupport.repository.appendingPathComponent("examples/cast_transfer.cast")

    /// The script prints what the golden file holds (numbers with a fraction within 0.01:
    /// BLAS kernels differ in the last bits between machines; nothing it prints depends on
    /// timings or memory), and the exported folder loads as a PEFT LoRA for the target.
    /// `CAST_UPDATE_GOLDEN=1` rewrites the golden file.
    @Test("examples/cast_transfer.cast prints the golden output and writes a PEFT folder")
    func transfer() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = try TestSupport.castExecutable()
        process.arguments = ["run", Self.script.path, "--quiet"]
        process.environment = ProcessInfo.processInfo.environment.merging(["CAST_PORTABLE_KERNELS": "1"]) { _, new in new }
        process.currentDirectoryURL = folder
        let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let stdout = try String(contentsOf: out, encoding: .utf8), stderr = try String(contentsOf: err, encoding: .utf8)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.isEmpty, "\(stderr)")
        if ProcessInfo.processInfo.environment["CAST_UPDATE_GOLDEN"] == "1" {
            try stdout.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        if let difference = GoldenText.difference(stdout, expected, tolerance: 0.01) {
            Issue.record("cast_transfer output differs from Golden/cast_transfer.txt: \(difference)\n--- got:\n\(stdout)")
        }
        let model = try TestModels.model("smollm2-135m")
        let exported = try PEFTAdapterFolder.load(folder.appendingPathComponent("out/cast-transfer"), for: model.config)
        #expect(exported.config.rank == 4)
    }
}
