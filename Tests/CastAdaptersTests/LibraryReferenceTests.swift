import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Crypto
import Foundation
import Testing

/// The recorded outputs of the real libraries (References/README.md): PEFT on transformers'
/// model of our HF export, and llama.cpp with our GGUF-LoRA files.
struct LibraryReference: Decodable {
    struct Prompt: Decodable { let name: String; let ids: [Int32]; let positions: [Int] }
    struct Row: Decodable { let position: Int; let ids: [Int]; let values: [Double]; let top1: Int; let top2_margin: Double? }
    struct Case: Decodable {
        let adapter: String?
        let flags: Flags?
        let safetensors_sha256: String?
        let rows: [[Row]]
    }
    struct Flags: Decodable { let rank: Int; let alpha: Double; let modules: [String]; let layers: [Int]; let seed: UInt64; let rslora: Bool; let b_std: Float }
    struct GGUFLoRA: Decodable { let cast_args: [String]; let sha256: String }
    let model: String
    let prompts: [Prompt]
    let cases: [String: Case]
    let lora: GGUFLoRA?

    static func load(_ file: String) throws -> LibraryReference {
        let url = try #require(Bundle.module.url(forResource: "References/\(file)", withExtension: "json"))
        return try JSONDecoder().decode(LibraryReference.self, from: Data(contentsOf: url))
    }

    static func folder(_ relative: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "References/\(relative)", withExtension: nil))
    }

    /// The adapter cast-made was drawn from, rebuilt from its recorded flags.
    static func castMade(_ flags: Flags, for model: ModelConfig, name: String) throws -> LoRAAdapter {
        let config = LoRAConfig(rank: flags.rank, alpha: flags.alpha, targetModules: flags.modules, layers: flags.layers,
                                useRSLoRA: flags.rslora, baseModel: name)
        return try LoRAAdapter(for: model, config: config, seed: flags.seed, bStd: flags.b_std)
    }

    /// Our logits at every recorded row of `case`: `[prompt][position]` id → value.
    func ours(_ model: Transformer, _ adapters: AdapterSet, _ name: String) throws -> [[[Int: Float]]] {
        try zip(prompts, cases[name]!.rows).map { prompt, rows in
            let logits = try model.logits([prompt.ids], adapters: adapters)
            let v = model.config.vocabularySize
            return rows.map { row in
                Dictionary(uniqueKeysWithValues: row.ids.map { ($0, logits.data[row.position * v + $0]) })
            }
        }
    }
}

func sha256(_ url: URL) throws -> String {
    SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
}

func pearson(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
    return sab / (saa * sbb).squareRoot()
}

@Suite("LoRA against the real libraries: PEFT on transformers, llama.cpp's GGUF-LoRA")
struct LibraryReferenceTests {
    static let models = ["smollm2-135m", "qwen2.5-0.5b", "gemma3-270m"]

    /// The worst |ours − PEFT| over a case's rows, checking top-1 on the way.
    static func worst(_ reference: LibraryReference, _ model: Transformer, _ adapters: AdapterSet, _ name: String) throws -> Double {
        let ours = try reference.ours(model, adapters, name)
        var worst = 0.0
        for (p, rows) in reference.cases[name]!.rows.enumerated() {
            for (k, row) in rows.enumerated() {
                var here = 0.0
                for (id, value) in zip(row.ids, row.values) { here = max(here, abs(Double(ours[p][k][id]!) - value)) }
                worst = max(worst, here)
                let best = ours[p][k].max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }!.key
                #expect(best == row.top1, "\(reference.model) \(name) prompt \(p) position \(row.position): top-1 \(best) vs PEFT's \(row.top1)")
            }
        }
        return worst
    }

    /// transformers ran our HF export: float32 weights, products on a blocked GEMM. Ours
    /// with the same float32 weights is the like-for-like comparison (with packed 8-bit
    /// weights the kernel's longer serial sums add up to ~1e-3 at some positions of
    /// qwen2.5-0.5b: `packedWeightsStayClose`).
    static func model(_ name: String) throws -> Transformer { try TestModels.model(name, weights: .float32) }

    /// A PEFT-saved adapter (rank and alpha patterns, rsLoRA, BF16/F16 files) loads into cast
    /// and gives PEFT's logits: |Δ| ≤ 1e-3 (the bare models agree to ~1e-4).
    @Test(arguments: models)
    func peftAdapterGivesPEFTsLogits(_ name: String) throws {
        let reference = try LibraryReference.load("peft-\(name)")
        let model = try Self.model(name)
        let base = try Self.worst(reference, model, .none, "base")
        let peftMade = try PEFTAdapterFolder.load(try LibraryReference.folder(reference.cases["peft-made"]!.adapter!), for: model.config)
        let adapted = try Self.worst(reference, model, peftMade.adapters, "peft-made")
        print("PEFT reference \(name): base max |Δ| \(base), PEFT-made adapter \(adapted)")
        #expect(base <= 1e-3)
        #expect(adapted <= 1e-3)
    }

    /// An adapter cast writes is byte for byte the committed one PEFT loaded, and PEFT's
    /// logits with it are ours: |Δ| ≤ 1e-3.
    @Test(arguments: models)
    func castAdapterGivesPEFTsLogits(_ name: String) throws {
        let reference = try LibraryReference.load("peft-\(name)")
        let model = try Self.model(name)
        let recorded = reference.cases["cast-made"]!
        let lora = try LibraryReference.castMade(recorded.flags!, for: model.config, name: name)
        let folder = try TestSupport.temporaryFolder()
        try PEFTAdapterFolder.save(lora, for: model.config, to: folder)
        #expect(try sha256(folder.appendingPathComponent(PEFTAdapterFolder.weightsName)) == recorded.safetensors_sha256)
        let adapted = try Self.worst(reference, model, lora.adapters, "cast-made")
        print("PEFT reference \(name): cast-made adapter max |Δ| \(adapted)")
        #expect(adapted <= 1e-3)
    }

    /// The same adapters on the packed 8-bit weights users run by default: within 2e-3.
    @Test(arguments: models)
    func packedWeightsStayClose(_ name: String) throws {
        let reference = try LibraryReference.load("peft-\(name)")
        let model = try TestModels.model(name, weights: .packed)
        let lora = try LibraryReference.castMade(reference.cases["cast-made"]!.flags!, for: model.config, name: name)
        let peftMade = try PEFTAdapterFolder.load(try LibraryReference.folder(reference.cases["peft-made"]!.adapter!), for: model.config)
        let a = try Self.worst(reference, model, lora.adapters, "cast-made")
        let b = try Self.worst(reference, model, peftMade.adapters, "peft-made")
        print("PEFT reference \(name), packed weights: cast-made max |Δ| \(a), PEFT-made \(b)")
        #expect(a <= 2e-3 && b <= 2e-3)
    }

    /// llama.cpp loads our GGUF-LoRA (the same bytes as recorded) and its logits move as
    /// ours do. llama.cpp rounds activations to 8 bits (its bare logits are off by up to
    /// ~1.6), so: same top-1 wherever its margin exceeds 0.5, Pearson ≥ 0.99 between its
    /// adapted logits and ours, and between the adapter's effect (adapted − bare, at the
    /// sampled ids) as llama.cpp and we measure it Pearson ≥ 0.85 with slope 0.85–1.15
    /// (a wrong scale, e.g. a lost √r, shows as a slope near 2.8 or 0.35).
    @Test(arguments: models)
    func llamaCppMovesAsWeDo(_ name: String) throws {
        let reference = try LibraryReference.load("gguf-lora-\(name)")
        let model = try TestModels.model(name)
        let flags = try LibraryReference.load("peft-\(name)").cases["cast-made"]!.flags!
        let lora = try LibraryReference.castMade(flags, for: model.config, name: name)
        let url = try TestSupport.temporaryFolder().appendingPathComponent("lora.gguf")
        try GGUFLoRAFile.save(lora, for: model.config, to: url)
        #expect(try sha256(url) == reference.lora!.sha256, "the GGUF-LoRA bytes differ from the file llama.cpp loaded")
        let oursBase = try reference.ours(model, .none, "base"), oursLoRA = try reference.ours(model, lora.adapters, "lora")
        var ourDelta: [Double] = [], theirDelta: [Double] = [], lowest = 1.0
        for (p, rows) in reference.cases["lora"]!.rows.enumerated() {
            for (k, row) in rows.enumerated() {
                let base = reference.cases["base"]!.rows[p][k]
                let theirBase = Dictionary(uniqueKeysWithValues: zip(base.ids, base.values))
                let ours = row.ids.map { Double(oursLoRA[p][k][$0]!) }
                lowest = min(lowest, pearson(ours, row.values))
                if (row.top2_margin ?? 0) > 0.5 {
                    let best = oursLoRA[p][k].max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }!.key
                    #expect(best == row.top1, "\(name) prompt \(p) position \(row.position): top-1 \(best) vs llama.cpp's \(row.top1)")
                }
                for (id, value) in zip(row.ids, row.values) {
                    guard let b = theirBase[id], let ob = oursBase[p][k][id] else { continue }
                    theirDelta.append(value - b)
                    ourDelta.append(Double(oursLoRA[p][k][id]!) - Double(ob))
                }
            }
        }
        let r = pearson(ourDelta, theirDelta)
        let slope = zip(ourDelta, theirDelta).reduce(0) { $0 + $1.0 * $1.1 } / ourDelta.reduce(0) { $0 + $1 * $1 }
        print("llama.cpp GGUF-LoRA \(name): Pearson adapted \(lowest), effect Pearson \(r) over \(ourDelta.count) values, slope \(slope)")
        #expect(lowest >= 0.99)
        #expect(r >= 0.85)
        #expect((0.85...1.15).contains(slope))
    }
}
