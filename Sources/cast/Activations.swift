import ArgumentParser
import CastAdapters
import CastAnalysis
import CastModels
import CastTensor
import Foundation

/// What text the analysis commands read and which tokens they keep, shared by
/// `activations`, `pca` and `cka`.
struct AnalysisInputOptions: ParsableArguments {
    @Option(help: "A text to read (repeat for several).") var text: [String] = []
    @Option(help: "A file whose contents are one text (repeat for several).") var textFile: [String] = []
    @Flag(help: "With --text-file: each non-empty line is a text of its own.") var lines = false
    @Option(help: "A corpus (wiki, or a JSON file of documents): its first --documents training documents.") var corpus: String?
    @Option(help: "How many corpus documents to read.") var documents = 32
    @Option(help: "A task suite (name or JSONL file): its examples' prompts and answers (see --positions answer).")
    var task: String?
    @Option(help: "Which task split: train or test.") var split = "test"
    @Option(help: "Generate this many tokens greedily after each text (a task: after its prompt) and capture prompt + generation as the generation computes them (--positions answer: the generated tokens).")
    var generate: Int?
    @Option(help: "Positions kept per sequence: all, last, answer, skip-first, from:N.") var positions = "all"
    @Option(name: .customLong("tokens"), help: "Token budget: keep at most this many positions in all.") var budget: Int?
    @Option(help: "Keep every K-th selected position.") var every: Int?
    @Option(help: "Keep this seeded random fraction (0…1] of the selected positions.") var fraction: Double?
    @Option(help: "Seed of --fraction.") var seed: UInt64 = 0
    @Option(help: "Longest sequence in tokens: longer texts are read in windows of this many.") var window = 1024

    func validate() throws {
        let sources = [!text.isEmpty || !textFile.isEmpty, corpus != nil, task != nil].filter { $0 }.count
        if sources == 0 { throw ValidationError("give the text to read: --text, --text-file, --corpus or --task") }
        if sources > 1 { throw ValidationError("give one kind of input: texts, --corpus or --task") }
        if let budget, budget < 1 { throw ValidationError("--tokens must be at least 1, got \(budget)") }
        if let every, every < 1 { throw ValidationError("--every must be at least 1, got \(every)") }
        if let fraction, !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if every != nil && fraction != nil { throw ValidationError("use --every or --fraction, not both") }
        if window < 2 { throw ValidationError("--window must be at least 2, got \(window)") }
        if let generate, generate < 1 { throw ValidationError("--generate must be at least 1, got \(generate)") }
        if documents < 1 { throw ValidationError("--documents must be at least 1") }
    }

    /// The texts given by --text / --text-file (nil when the input is a corpus or task).
    func texts() throws -> [String]? {
        if corpus != nil || task != nil { return nil }
        var out = text
        for path in textFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AnalysisError("--text-file \(path): cannot read the file")
            }
            let contents = String(decoding: data, as: UTF8.self)
            out += lines ? contents.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                         : [contents]
        }
        if let empty = out.firstIndex(where: { $0.isEmpty }) {
            throw AnalysisError("text \(empty + 1) is empty: there is nothing to capture activations of")
        }
        return out
    }

    /// Every text this input reads, for commands that compare two models on the same text.
    func allTexts() throws -> [String] {
        if let texts = try texts() { return texts }
        if let corpus { return Array(try loadCorpus(corpus).train.prefix(documents)) }
        throw AnalysisError("comparing two models reads --text, --text-file or --corpus")
    }

    private func loadCorpus(_ name: String) throws -> TextCorpus {
        name == "wiki" ? try TextCorpus.wiki() : try TextCorpus.load(URL(fileURLWithPath: name), name: name)
    }

    /// The sequences `model` reads (with --generate, the prompts: each sequence's tokens
    /// before its answer).
    func sequences(for model: Transformer) throws -> [CaptureSequence] {
        guard let tokenizer = model.tokenizer else { throw AnalysisError("\(model.name) has no tokenizer") }
        if let texts = try texts() {
            return try CaptureInputs.texts(texts, tokenizer: tokenizer, window: window)
        } else if let corpus {
            return try CaptureInputs.corpus(try loadCorpus(corpus), tokenizer: tokenizer, documents: documents, window: window)
        }
        let suite = try TaskSuite.load(task!)
        guard ["train", "test"].contains(split) else { throw AnalysisError("--split must be train or test, got \(split)") }
        return try CaptureInputs.task(split == "train" ? suite.train : suite.test, tokenizer: tokenizer,
                                      contextLength: model.config.contextLength)
    }

    /// Captures `points` over the input: a forward pass per batch of sequences, or with
    /// --generate, during the greedy generation itself (the cached calls are tapped: no
    /// second pass). Returns the sequences read (with --generate, prompt + generation).
    func capture(_ model: Transformer, points: [ActivationPoint], options: CaptureOptions, adapters: AdapterSet,
                 arithmetic: PackedArithmetic) throws -> (set: ActivationSet, sequences: [CaptureSequence]) {
        let sequences = try sequences(for: model)
        guard let generate else {
            return (try ActivationCapture.run(model, sequences: sequences, points: points, options: options,
                                              adapters: adapters, arithmetic: arithmetic), sequences)
        }
        let result = try GenerationCapture.run(model, prompts: sequences, generation: GenerationOptions(maxNewTokens: generate),
                                               points: points, options: options, adapters: adapters, arithmetic: arithmetic)
        return (result.activations, result.sequences)
    }

    func captureOptions(keepRows: Bool, statistics: Bool) throws -> CaptureOptions {
        let subsampling: Subsampling = every.map { .every($0) } ?? fraction.map { .fraction($0, seed: seed) } ?? .none
        return CaptureOptions(keepRows: keepRows, statistics: statistics, positions: try PositionSelector(parsing: positions),
                              budget: budget, subsampling: subsampling)
    }
}

/// `--points` and `--layers`, resolved against a model's catalog.
struct PointOptions: ParsableArguments {
    @Option(help: "Points, comma-separated: full names (blocks.3.attn.hook_z, ln_final.hook_normalized) or per-layer names (hook_resid_post, attn.hook_q, mlp.hook_post, q_proj.hook_in) taken at each of --layers. See `cast points`.")
    var points = "hook_resid_post"
    @Option(help: "Layers for per-layer point names: all, last, or indices and ranges (0,5,10-12).") var layers = "all"

    func resolve(_ catalog: PointCatalog) throws -> [ActivationPoint] {
        try catalog.points(points.split(separator: ",").map(String.init), layers: catalog.layers(parsing: layers))
    }
}

/// `cast activations`: capture activations at named points and save them for numpy.
struct Activations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture activations at named points and write them as safetensors (or .npy), one [tokens, width] float32 tensor per point.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @OptionGroup var input: AnalysisInputOptions
    @OptionGroup var pointOptions: PointOptions
    @Option(help: "Where to write: FILE.safetensors, FILE.npy (one point), or a folder (one POINT.npy per point + tokens.json).")
    var out: String
    @Option(help: "A CAST adapter folder for this (target) model: also write the inputs of the modules its layers sit on, mapped into the source's space by each layer's P_in, as p_in.<source point> (safetensors only).")
    var castAdapter: String?
    @Flag(help: "Print a JSON summary: {\"out\", \"tokens\", \"points\": [{\"name\", \"shape\"}]}.") var json = false

    func run() throws {
        let transformer = try model.load().model
        var points = try pointOptions.resolve(PointCatalog(transformer))
        var cast: CastAdapter? = nil
        if let castAdapter {
            guard out.hasSuffix(".safetensors") else { throw AnalysisError("--cast-adapter writes into a .safetensors --out") }
            guard let folder = CastAdapterFolder.locate(castAdapter) else {
                throw AnalysisError("--cast-adapter \(castAdapter): not a CAST adapter folder (what `cast transfer` writes)")
            }
            cast = try CastAdapterFolder.load(folder, target: transformer)
            points += CastSpaceMapping.targetPoints(cast!).filter { !points.contains($0) }
        }
        let (set, sequences) = try input.capture(transformer, points: points,
                                                 options: try input.captureOptions(keepRows: true, statistics: false),
                                                 adapters: try adapterOption.adapters(for: transformer), arithmetic: model.arithmetic)
        var extra: [String: Tensor] = [:]
        if let cast {
            let mapped = try CastSpaceMapping.mapped(set, through: cast)
            for point in mapped.points { extra["p_in." + point.name] = try mapped.rows(point) }
        }
        let url = URL(fileURLWithPath: out)
        if out.hasSuffix(".safetensors") {
            try set.writeSafetensors(to: url, extra: extra)
        } else if out.hasSuffix(".npy") {
            guard points.count == 1 else {
                throw AnalysisError("--out \(out): a .npy file holds one point, but \(points.count) were asked; give a folder or a .safetensors file")
            }
            try NumpyArray.write(try set.rows(points[0]), to: url)
        } else {
            try set.writeNumpy(folder: url)
        }
        let shapes = try set.points.map { ($0.name, try set.rows($0).shape) } + extra.keys.sorted().map { ($0, extra[$0]!.shape) }
        if json {
            struct Entry: Encodable { let name: String; let shape: [Int] }
            struct Output: Encodable { let out: String; let model: String; let tokens: Int; let points: [Entry] }
            let output = Output(out: out, model: transformer.name, tokens: set.tokens.count,
                                points: shapes.map { Entry(name: $0.0, shape: $0.1) })
            print(String(decoding: try JSONEncoder().encode(output), as: UTF8.self))
            return
        }
        print("\(transformer.name): \(set.tokens.count) tokens from \(sequences.count) sequences, \(points.count) points → \(out)")
        print(TextTable(header: ["POINT", "SHAPE"], rows: shapes.map { [$0.0, "\($0.1)"] }).render())
    }
}
