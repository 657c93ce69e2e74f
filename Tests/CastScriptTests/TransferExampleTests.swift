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
    /// The script prints what the golden file holds (numbers with a fraction within 0.01:
    /// BLAS kernels differ in the last bits between machines; nothing it prints depends on
    /// timings or memory), and the exported folder loads as a PEFT LoRA for the target.
    /// `CAST_UPDATE_GOLDEN=1` rewrites the golden file.
    @Test("examples/cast_transfer.cast prints the golden output and writes a PEFT folder")
    func transfer() throws {
        let folder = try runExampleAgainstGolden("cast_transfer")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try TestModels.model("smollm2-135m")
        let exported = try PEFTAdapterFolder.load(folder.appendingPathComponent("out/cast-transfer"), for: model.config)
        #expect(exported.config.rank == 4)
    }
}
