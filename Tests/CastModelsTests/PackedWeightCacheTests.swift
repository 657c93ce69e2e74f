import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastModels

/// The packed-weight cache: a second load maps the first one's packed matrices and gives the
/// same logits bit for bit; truncated, corrupted or other-version files are rebuilt.
@Suite struct PackedWeightCacheTests {
    static let model = "smollm2-135m"
    static let tokens: [[Int32]] = [[1, 504, 3458, 314, 2114, 28, 253, 1345]]

    /// Loads the test model through a cache in `folder`: the model's logits and the outcome.
    func load(_ folder: URL?) throws -> (logits: [UInt32], outcome: PackedWeightCache.Outcome?) {
        let path = try TestModels.url(Self.model).path
        let (model, outcome) = try Transformer.loadGGUFReporting(path: path, name: Self.model, quantized: .packed,
                                                                 packedCache: folder.map(PackedWeightCache.init))
        return (try model.logits(Self.tokens).scalars.map(\.bitPattern), outcome)
    }

    @Test func secondLoadIsServedFromTheCacheWithTheSameLogits() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = try load(nil)
        #expect(fresh.outcome == nil)
        let first = try load(folder)
        #expect(first.outcome == .built)
        let second = try load(folder)
        #expect(second.outcome == .served)
        #expect(first.logits == fresh.logits)
        #expect(second.logits == fresh.logits)
    }

    @Test func aTruncatedCacheFileIsRebuilt() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = try load(folder)
        let url = PackedWeightCache(directory: folder).url(for: try TestModels.url(Self.model).path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        #expect(truncate(url.path, off_t(size / 2)) == 0)
        let again = try load(folder)
        guard case .rebuilt(let reason) = again.outcome else {
            Issue.record("expected a rebuild, got \(String(describing: again.outcome))")
            return
        }
        #expect(reason.contains("truncated"))
        #expect(again.logits == fresh.logits)
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int == size)
        #expect(try load(folder).outcome == .served)
    }

    @Test func anotherLayoutVersionIsRebuilt() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = try load(folder)
        let url = PackedWeightCache(directory: folder).url(for: try TestModels.url(Self.model).path)
        try overwrite(url, at: 8, with: withUnsafeBytes(of: (PackedCacheFile.layoutVersion + 1).littleEndian) { Array($0) })
        let again = try load(folder)
        guard case .rebuilt(let reason) = again.outcome else {
            Issue.record("expected a rebuild, got \(String(describing: again.outcome))")
            return
        }
        #expect(reason.contains("layout version"))
        #expect(again.logits == fresh.logits)
        #expect(try load(folder).outcome == .served)
    }

    /// Version 3 (panels interleaved in quads): the file's name and header say so, a second
    /// load maps it and gives the same logits, and a file of version 2 (the same bytes would be
    /// panels one after another) is rebuilt, never read.
    @Test func layoutVersion3RoundTripsAndVersion2IsRebuilt() throws {
        #expect(PackedCacheFile.layoutVersion == 3)
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = try load(nil)
        #expect(try load(folder).outcome == .built)
        let url = PackedWeightCache(directory: folder).url(for: try TestModels.url(Self.model).path)
        #expect(url.lastPathComponent.hasSuffix("-v3.castpack"))
        let header = try Data(contentsOf: url).prefix(12)
        #expect(Array(header.prefix(8)) == PackedCacheFile.magic && Array(header.suffix(4)) == [3, 0, 0, 0])
        let served = try load(folder)
        #expect(served.outcome == .served && served.logits == fresh.logits)
        try overwrite(url, at: 8, with: [2, 0, 0, 0])
        let again = try load(folder)
        #expect(again.outcome == .rebuilt("layout version 2, this build reads version 3"))
        #expect(again.logits == fresh.logits)
        #expect(try load(folder).outcome == .served)
    }

    @Test func aCorruptedIndexIsRebuilt() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fresh = try load(folder)
        let url = PackedWeightCache(directory: folder).url(for: try TestModels.url(Self.model).path)
        // A byte of the first matrix's name in the index.
        try overwrite(url, at: PackedCacheFile.headerBytes + 3, with: [0x7F])
        let again = try load(folder)
        guard case .rebuilt(let reason) = again.outcome else {
            Issue.record("expected a rebuild, got \(String(describing: again.outcome))")
            return
        }
        #expect(reason.contains("checksum"))
        #expect(again.logits == fresh.logits)
    }

    @Test func anUnrelatedFileIsRebuilt() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = PackedWeightCache(directory: folder).url(for: try TestModels.url(Self.model).path)
        try Data(repeating: 0x41, count: 200).write(to: url)
        let again = try load(folder)
        #expect(again.outcome == .rebuilt("not a packed-weight cache (bad magic)"))
        #expect(try load(folder).outcome == .served)
    }

    /// A matrix without stored offsets and one with them (both 5-bit, and an 8-bit one without)
    /// come back from a cache file with their layout, byte count and values, bit for bit.
    @Test func matricesWithoutOffsetsRoundTrip() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sourceFile = folder.appendingPathComponent("source.gguf")
        try Data(repeating: 1, count: 100).write(to: sourceFile)
        let source = try PackedCacheFile.Source(path: sourceFile.path)
        let lean5 = try PackedMatrix(rows: 37, columns: 64, group: 32, bits: 5, bias: 16, offsets: false)
        let full5 = try PackedMatrix(rows: 37, columns: 64, group: 32, bits: 5, bias: 16)
        let lean8 = try PackedMatrix(rows: 20, columns: 32, group: 16, offsets: false)
        var rng = SeededGenerator(seed: 5)
        for (matrix, range) in [(lean5, -16...15), (full5, -16...15), (lean8, -32...31)] {
            for row in 0..<matrix.rows {
                for g in 0..<matrix.columns / matrix.group {
                    let q = (0..<matrix.group).map { _ in Int8(Int.random(in: range, using: &rng)) }
                    let offset: Float = matrix.offsets ? Float.random(in: -0.1...0.1, using: &rng) : 0
                    matrix.setGroup(row: row, group: g, values: q, scale: Float.random(in: -0.02...0.02, using: &rng),
                                    offset: offset)
                }
            }
        }
        let url = folder.appendingPathComponent("m.castpack")
        try PackedCacheFile.write([("lean5", 6, lean5), ("full5", 6, full5), ("lean8", 14, lean8)], source: source, to: url)
        let mapping = try PackedCacheFile.Mapping(path: url.path, source: source)
        for (name, original) in [("lean5", lean5), ("full5", full5), ("lean8", lean8)] {
            let (entry, read) = try #require(try mapping.matrix(name))
            #expect(entry.offsets == original.offsets && read.offsets == original.offsets, "\(name)")
            #expect(read.bits == original.bits && read.bias == original.bias && read.byteCount == original.byteCount)
            #expect(Array(read.bytes) == Array(original.bytes), "\(name)")
            #expect(read.dequantized().scalars.map(\.bitPattern) == original.dequantized().scalars.map(\.bitPattern))
        }
        #expect(lean5.byteCount == 3 * 2 * (320 + 64) && full5.byteCount == 3 * 2 * (320 + 128))
    }

    private func overwrite(_ url: URL, at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: bytes)
    }
}
