import CastAdapters
import CastAnalysis
import CastModels
import CastPlot
import CastTensor
import Foundation

/// The analysis builtins: the activation points a model has, activations captured at them,
/// PCA and CKA of those activations, and (through `plot` and `save`) their pictures and
/// numpy files. Points are named as TransformerLens names its hooks (docs/analysis.md).
enum AnalysisBuiltins {
    static var all: [Builtin] { [points, activations, pca, pcaPair, cka] }

    static let activationsType = ParameterType.object(ActivationsValue.self)
    static let pcaType = ParameterType.object(PCAValue.self)
    static let ckaType = ParameterType.object(CKAValue.self)
    /// What a model reads: a text, texts, a corpus or a task.
    static let textType = ParameterType("string, list of strings, corpus or task") { value in
        switch value {
        case .string: true
        case .list(let items): items.allSatisfy { if case .string = $0 { true } else { false } }
        case .object(let o): o is CorpusValue || o is TaskValue
        default: false
        }
    }
    static let namesType = ParameterType("string or list of strings") { value in
        switch value {
        case .string: true
        case .list(let items): items.allSatisfy { if case .string = $0 { true } else { false } }
        default: false
        }
    }
    static let layersType = ParameterType("whole number, list or range of whole numbers, or string") { value in
        switch value {
        case .string, .range: true
        case .list(let items): items.allSatisfy { $0.integer != nil }
        default: value.integer != nil
        }
    }
    static let positionChoices = ["all", "last", "answer", "skip-first", "from:N"]
    static var generateParameter: Parameter {
        Parameter("generate", .optional(.integer), default: Value.none,
                  help: "Generate this many tokens greedily after each text (a task: after its prompt) and keep prompt + generation, "
                      + "read as the generation computes them (no second pass); positions: \"answer\" keeps the generated tokens.")
    }

    // MARK: points

    static var points: Builtin {
        Builtin("points", [
            Parameter("model", .model),
            Parameter("compact", .bool, default: .bool(false), help: "One row per kind of point (blocks.{0..L}.hook_…) instead of one per point."),
        ], returns: "table",
        help: "Every activation point of a model, named as TransformerLens names its hooks (blocks.3.hook_resid_post, "
            + "blocks.3.attn.hook_z, blocks.3.mlp.hook_post, ln_final.hook_normalized; the inputs of the linear modules, where "
            + "LoRA and CAST layers read, as blocks.3.q_proj.hook_in), with its layer, width and shape [tokens, width] and what "
            + "it holds. Differences from TransformerLens: hook_normalized includes the norm's weight; hook_q/k/v/z are "
            + "[tokens, heads·head_dim] (docs/analysis.md).",
        example: "points(m)\npoints(m, compact: true)\nlen(points(m))", usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let catalog = PointCatalog(model.transformer)
            let config = model.transformer.config
            let caption = "\(model.transformer.name) (\(config.architecture.rawValue)): \(config.layerCount) layers, "
                + "d = \(config.hiddenSize); \(catalog.allPoints.count) points, each [tokens, width]"
            if call.bool("compact") {
                let rows: [[Value]] = catalog.kinds.map { kind in
                    let name = kind.isPerLayer ? "blocks.{0..\(config.layerCount - 1)}.\(kind.suffix)" : kind.suffix
                    let width = kind.width(in: config)!
                    return [.string(name), .string(kind.isPerLayer ? "0...\(config.layerCount - 1)" : "after the last"),
                            Value(width), .string("[tokens, \(width)]"), .string(kind.summary)]
                }
                return .object(TableValue(columns: ["point", "layers", "width", "shape", "what"], rows: rows, caption: caption))
            }
            let rows: [[Value]] = catalog.allPoints.map { p in
                let width = catalog.width(of: p)!
                return [.string(p.name), Value(p.layer), Value(width), .string("[tokens, \(width)]"), .string(p.kind.summary)]
            }
            return .object(TableValue(columns: ["point", "layer", "width", "shape", "what"], rows: rows, caption: caption))
        }
    }

    // MARK: activations

    /// The parameters that say what a model reads and which of its tokens are kept.
    static func readingParameters(tokens: Value = Value.none, tokensHelp: String = "Token budget: keep at most this many positions in all; none: every one.")
        -> [Parameter] {
        [Parameter("positions", .string, default: .string("all"),
                   help: "Which positions of each sequence are kept: all, last, answer (a task's answer tokens), skip-first "
                       + "(leaves out the first token, which most models make an outsized attention sink), or from:N."),
         Parameter("tokens", .optional(.integer), default: tokens, help: tokensHelp),
         Parameter("documents", .integer, default: Value(32), help: "With a corpus: how many of its documents are read."),
         Parameter("split", .string, default: .string("test"), help: "With a task: read its test or train examples."),
         Parameter("window", .integer, default: Value(1024), help: "Longer texts are read in windows of this many tokens.")]
    }

    static var activations: Builtin {
        Builtin("activations", [
            Parameter("model", .model),
            Parameter("text", textType, help: "What the model reads: a text, a list of texts, a corpus (its first documents) or a task (prompt and answer)."),
            Parameter("points", namesType, default: .string("hook_resid_post"),
                      help: "Full point names (blocks.3.attn.hook_z, ln_final.hook_normalized) or per-layer names (hook_resid_post, "
                          + "attn.hook_q, mlp.hook_post, q_proj.hook_in; hook_ may be left out) taken at each of layers. See points(m)."),
            Parameter("layers", layersType, default: .string("all"),
                      help: "Layers for per-layer names: a number, a list or range of numbers, \"all\", \"last\" or \"0,5,10-12\"."),
        ] + readingParameters() + [generateParameter, GenerationBuiltins.adapterParameter], returns: "activations",
        help: "Runs the model over text and keeps its activations at the named points: one [tokens, width] matrix per point, "
            + "the same tokens for every point. The pass stops after the deepest layer a point needs and never computes "
            + "logits. Reports progress per batch of sequences; interrupted (Ctrl-C), it stops at the next batch and keeps "
            + "nothing. a.points, a.tokens, a.widths and a.shapes describe the result, a[i] is token i (text, position, id, "
            + "piece, class); save(a, \"acts.safetensors\") writes one float32 tensor per point for numpy "
            + "(a .npy file for one point, or a folder of .npy files).",
        example: "a = activations(m, [\"The cat sat on the mat.\", \"Paris is in France.\"], points: [\"hook_resid_post\", \"attn.hook_z\"], layers: [3, 15])\n"
            + "a.shapes\n"
            + "save(a, \"out/acts.safetensors\")",
        usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let points = try resolvePoints(call, "points", layers: "layers", model: model)
            let options = try captureOptions(call, keepRows: true, statistics: false)
            let sequences = try readSequences(call, "text", model: model)
            let adapters = try TrainingBuiltins.adapterSet(call, "adapter", for: model)
            let set = try capture(call, model: model, sequences: sequences, points: points, options: options, adapters: adapters,
                                  generate: try generateCount(call))
            return .object(ActivationsValue(captured: set, model: model, sequences: sequences.count, positions: call.string("positions")))
        }
    }

    // MARK: pca

    static var pca: Builtin {
        Builtin("pca", [
            Parameter("source", .either(activationsType, .model), help: "Activations, or a model to read text with."),
            Parameter("text", .optional(textType), default: Value.none, help: "With a model: what it reads (a text, texts, a corpus or a task)."),
            Parameter("point", .optional(namesType), default: Value.none,
                      help: "The point: a full name (blocks.15.hook_resid_post), or a per-layer name with layers (several "
                          + "layers: one PCA over all their rows, a joint PCA); none: the activations' only point."),
            Parameter("layers", .optional(layersType), default: Value.none,
                      help: "Layers for a per-layer point name; none: the layers captured (activations) or the last layer (a model)."),
            Parameter("components", .integer, default: Value(10), help: "How many components to keep (k needs at least k + 1 tokens)."),
        ] + readingParameters() + [generateParameter, GenerationBuiltins.adapterParameter], returns: "pca",
        help: "Principal components of a point's activations: mean-centred, the covariance normalised by n − 1 (as np.cov "
            + "and sklearn) in double precision, its top components refined to double accuracy. Shows a table of each "
            + "component's variance, ratio and running total; p.explained_variance, p.ratio, p.cumulative, "
            + "p.participation_ratio ((Σλ)²/Σλ², the effective dimension) and p.projections (each token on the "
            + "components) read it. plot(p) draws the explained variance, plot(p, kind: \"scatter\") the tokens on PC1 and PC2 "
            + "coloured by token class (by layer for a joint PCA; labels: recolours them). Most models' first token is an "
            + "outsized attention sink that takes PC1 whole: positions: \"skip-first\" leaves it out.",
        example: "p = pca(a, point: \"blocks.15.hook_resid_post\", components: 5)\n"
            + "pca(m, \"The quick brown fox jumps over the lazy dog.\", point: \"hook_resid_post\", layers: [4, 12, 20], positions: \"skip-first\")\n"
            + "plot(p, kind: \"scatter\")",
        usesEngine: true) { call in
            if let a = call.object("source", as: ActivationsValue.self) {
                for name in ["text", "positions", "tokens", "documents", "split", "window", "generate", "adapter"] where call.ranges[name] != nil {
                    throw call.error(name, "'\(name)' is for reading a model; these activations were already captured "
                                     + "(give it to activations(…), or call pca(m, text, …))")
                }
                let points = try pcaPoints(call, model: a.model, captured: a.captured.points)
                return .object(try principalComponents(call, set: a.captured, points: points, model: a.model, positions: a.positions,
                                                       classes: { a.classes }))
            }
            let model = call.object("source", as: ModelValue.self)!
            guard call.value("text") != Value.none else {
                throw call.error("source", "pca of a model needs text to read: pca(m, \"some text\", point: …), or pca(activations(…))")
            }
            guard call.value("point") != Value.none else {
                throw call.error("point", "pca of a model needs point: (e.g. \"blocks.\(model.transformer.config.layerCount - 1).hook_resid_post\"; see points(m))")
            }
            let points = try pcaPoints(call, model: model, captured: nil)
            let options = try captureOptions(call, keepRows: true, statistics: true)
            let sequences = try readSequences(call, "text", model: model)
            let adapters = try TrainingBuiltins.adapterSet(call, "adapter", for: model)
            let set = try capture(call, model: model, sequences: sequences, points: points, options: options, adapters: adapters,
                                  generate: try generateCount(call))
            let value = ActivationsValue(captured: set, model: model, sequences: sequences.count, positions: call.string("positions"))
            return .object(try principalComponents(call, set: set, points: points, model: model, positions: value.positions,
                                                   classes: { value.classes }))
        }
    }

    /// The points a PCA reads: `point` (with `layers`), else the activations' only point.
    static func pcaPoints(_ call: Call, model: ModelValue, captured: [ActivationPoint]?) throws -> [ActivationPoint] {
        let catalog = PointCatalog(model.transformer)
        guard call.value("point") != Value.none else {
            guard let captured else { return [] }
            if captured.count == 1 { return captured }
            throw call.error("point", "these activations hold \(captured.count) points: say which with point: (one of "
                             + captured.map(\.name).joined(separator: ", ") + ")")
        }
        let names = pointNames(call, "point")
        // A per-layer name without layers: the captured layers of that kind, or the last layer.
        var layers: [Int]
        if call.value("layers") != Value.none {
            layers = try resolveLayers(call, "layers", catalog: catalog)
        } else if let captured {
            layers = captured.compactMap(\.layer)
            var seen = Set<Int>()
            layers = layers.filter { seen.insert($0).inserted }
            if layers.isEmpty { layers = [catalog.layers.upperBound - 1] }
        } else {
            layers = [catalog.layers.upperBound - 1]
        }
        var points: [ActivationPoint]
        do { points = try catalog.points(names, layers: layers) } catch { throw call.error("point", languageMessage(error)) }
        if let captured {
            if call.value("layers") == Value.none {
                // Per-layer names pick the captured layers only.
                let kept = points.filter { captured.contains($0) }
                if !kept.isEmpty { points = kept }
            }
            if let missing = points.first(where: { !captured.contains($0) }) {
                throw call.error(call.ranges["layers"] != nil ? "layers" : "point",
                                 "\(missing.name) was not captured; these activations hold "
                                 + captured.map(\.name).joined(separator: ", ")
                                 + Suggestions.hint(for: missing.name, among: captured.map(\.name)))
            }
        }
        return points
    }

    /// The PCA of `points` (one, or several of one width together) of `set`.
    static func principalComponents(_ call: Call, set: ActivationSet, points: [ActivationPoint], model: ModelValue,
                                    positions: String, classes: () -> [String]) throws -> PCAValue {
        let components = try call.integer("components", in: 1...Int.max)
        var statistics = try set.covariance(points[0])
        for p in points.dropFirst() {
            let s = try set.covariance(p)
            guard s.width == statistics.width else {
                throw call.error("point", "a joint PCA needs points of one width: \(points[0].name) is \(statistics.width) wide, \(p.name) \(s.width)")
            }
            try statistics.merge(s)
        }
        let result: PrincipalComponents
        do {
            result = try PrincipalComponents(statistics, components: components)
        } catch {
            throw call.error("components", languageMessage(error))
        }
        var projected: [Float] = [], categories: [String] = []
        for p in points {
            let y = try result.project(try set.rows(p))
            projected += y.scalars
            if points.count > 1 { categories += Array(repeating: p.layer.map { "L\($0)" } ?? p.name, count: y.shape[0]) }
        }
        if points.count == 1 { categories = classes() }
        let projections = try Tensor(projected, shape: [categories.count, result.componentCount])
        var note: String? = nil
        if positions == "all", let first = result.explainedVarianceRatio.first, first > 0.9 {
            note = "PC1 holds \(String(format: "%.1f", 100 * first))% of the variance, usually one outsized token (most models' "
                + "first token); positions: \"skip-first\" leaves it out"
        }
        let label = points.count == 1 ? points[0].name : "joint \(points.map { $0.layer.map { "L\($0)" } ?? $0.name }.joined(separator: ","))"
            + " \(Set(points.map(\.kind.suffix)).sorted().joined(separator: ","))"
        return PCAValue(pca: result, model: model.transformer.name, point: label, points: points, projections: projections,
                        categories: categories, note: note)
    }

    // MARK: cka

    static var cka: Builtin {
        Builtin("cka", [
            Parameter("a", .either(activationsType, .model), help: "Activations, or a model (the source: the matrix's columns)."),
            Parameter("b", .optional(.either(activationsType, .model, textType)), default: Value.none,
                      help: "Activations of the same tokens, or a second model (the target: the rows); none: a against itself. "
                          + "With one model, the text may go here."),
            Parameter("text", .optional(textType), default: Value.none,
                      help: "With models: what they read (a text, texts or a corpus; two models read the same text, paired by byte offset)."),
            Parameter("points", namesType, default: .string("hook_resid_post"),
                      help: "With models: full point names, or per-layer names taken at each of layers."),
            Parameter("layers", layersType, default: .string("all"), help: "With models: layers for per-layer names."),
            Parameter("layers_b", .optional(layersType), default: Value.none,
                      help: "The second model's layers; none: layers where it has them all, else all of its layers."),
            Parameter("kernel", .string, default: .string("linear"), help: "linear, rbf (σ = 0.5 × the median distance) or rbf:SCALE."),
            Parameter("permutations", .integer, default: Value(8), help: "Shuffles behind each cell's permutation baseline (0: none)."),
            Parameter("neighbors", .optional(.integer), default: Value.none, help: "Also measure mutual k-nearest-neighbour alignment with this k."),
        ] + readingParameters(tokens: Value(1024), tokensHelp: "Token budget. CKA keeps a [tokens, tokens] matrix per point, so at most 16384 "
                                  + "for rbf; linear CKA over more tokens is computed from statistics over all of them, without rows, "
                                  + "its baseline and k-NN on the first 1024."),
        returns: "cka",
        help: "Linear CKA (Kornblith et al. 2019) of every row representation against every column one over the same tokens, "
            + "beside each cell's permutation baseline (the mean CKA with one side's tokens shuffled): read CKA against it, "
            + "since raw CKA is inflated by width and depth. cka(a, b) compares two activations of the same tokens, "
            + "cka(a) a's points with each other, cka(m, text) a model's points on a text, cka(m1, m2, text) two models on "
            + "the same text (positions paired where "
            + "their tokens end at the same byte). Across two models' layers, c.layer_map is the suggested order-preserving "
            + "target:source map, for cast(l, to: m2, layer_map: c.layer_map). Shows the matrix as a table; plot(c) draws "
            + "it as a heatmap.",
        example: "c = cka(src, tgt, [\"The cat sat on the mat.\", \"Water boils at 100 degrees.\"], positions: \"skip-first\")\n"
            + "c.layer_map\n"
            + "plot(c)\n"
            + "cka(a)",
        usesEngine: true) { call in
            let kernel: CKAKernel
            do { kernel = try CKAKernel(parsing: call.string("kernel")) } catch {
                throw call.error("kernel", "'kernel' must be linear, rbf or rbf:SCALE (e.g. rbf:0.5), got \(Value.quote(call.string("kernel")))"
                                 + Suggestions.hint(for: call.string("kernel"), among: ["linear", "rbf"]))
            }
            let permutations = try call.integer("permutations", in: 0...1000)
            var neighbors: Int? = nil
            if call.value("neighbors") != Value.none { neighbors = try call.integer("neighbors", in: 1...Int.max) }

            var rows: [LabelledActivations], columns: [LabelledActivations]
            var rowModel: ModelValue, columnModel: ModelValue
            var symmetric = false
            var positions = call.string("positions")
            var statisticsOptions: CaptureOptions? = nil, statisticsPass: StatisticsCKA.Pass? = nil
            if let a = call.object("a", as: ActivationsValue.self) {
                for name in ["text", "points", "layers", "layers_b", "positions", "tokens", "documents", "split", "window"]
                where call.ranges[name] != nil {
                    throw call.error(name, "'\(name)' is for reading models; these activations were already captured")
                }
                positions = a.positions
                columns = try labelled(a.captured)
                columnModel = a.model
                if let b = call.object("b", as: ActivationsValue.self), b !== a {
                    try checkSameTokens(call, a, b)
                    rows = try labelled(b.captured)
                    rowModel = b.model
                } else {
                    guard call.value("b") == Value.none || call.object("b", as: ActivationsValue.self) != nil else {
                        throw call.error("b", "cka of activations compares them with activations of the same tokens, not \(call.value("b").typeWithArticle)")
                    }
                    rows = columns
                    rowModel = a.model
                    symmetric = true
                }
            } else {
                let a = call.object("a", as: ModelValue.self)!
                columnModel = a
                var options = try captureOptions(call, keepRows: true, statistics: false)
                // Linear CKA past the rows' limit: statistics over every token, rows for the baseline only.
                if kernel == .linear, let budget = options.budget, budget > CenteredGram.maximumTokens {
                    statisticsOptions = options
                    options.budget = statisticsRowSample
                }
                let pointsA = try resolvePoints(call, "points", layers: "layers", model: a)
                if let b = call.object("b", as: ModelValue.self) {
                    guard call.value("text") != Value.none else {
                        throw call.error("text", "two models need text to read: cka(m1, m2, \"some text\")")
                    }
                    rowModel = b
                    let catalogB = PointCatalog(b.transformer)
                    var layersB: [Int]
                    if call.value("layers_b") != Value.none {
                        layersB = try resolveLayers(call, "layers_b", catalog: catalogB)
                    } else {
                        let layersA = try resolveLayers(call, "layers", catalog: PointCatalog(a.transformer))
                        layersB = layersA.allSatisfy(catalogB.layers.contains) && !isAll(call.value("layers")) ? layersA : Array(catalogB.layers)
                    }
                    let pointsB: [ActivationPoint]
                    do { pointsB = try catalogB.points(pointNames(call, "points"), layers: layersB) } catch {
                        throw call.error("points", languageMessage(error))
                    }
                    let texts = try pairedTexts(call, "text")
                    let (setA, setB) = try pairedCapture(call, a, b, texts: texts, pointsA: pointsA, pointsB: pointsB, options: options)
                    columns = try labelled(setA)
                    rows = try labelled(setB)
                    if let statisticsOptions {
                        statisticsPass = try StatisticsCKA.pairedPasses(a.transformer, b.transformer, texts: texts, pointsA: pointsA,
                                                                        pointsB: pointsB, options: statisticsOptions, window: call.integer("window", in: 2...Int.max))
                    }
                } else {
                    if call.value("b") != Value.none && call.value("text") != Value.none {
                        throw call.error("b", "give the text once: cka(m, text) or cka(m, text: …)")
                    }
                    if call.value("b") == Value.none && call.value("text") == Value.none {
                        throw call.error("a", "cka of a model needs text to read: cka(m, \"some text\"), or cka(m1, m2, \"some text\")")
                    }
                    if call.ranges["layers_b"] != nil { throw call.error("layers_b", "'layers_b' is for a second model") }
                    let parameter = call.value("b") != Value.none ? "b" : "text"
                    let sequences = try readSequences(call, parameter, model: a)
                    let set = try capture(call, model: a, sequences: sequences, points: pointsA, options: options, adapters: .none,
                                          text: parameter)
                    if let statisticsOptions {
                        statisticsPass = StatisticsCKA.passes(a.transformer, sequences: sequences, points: pointsA,
                                                              options: statisticsOptions, arithmetic: a.generator.arithmetic)
                    }
                    columns = try labelled(set)
                    rows = columns
                    rowModel = a
                    symmetric = true
                }
            }
            var matrix: SimilarityMatrix
            do {
                matrix = try SimilarityMatrix(rows: rows, columns: columns, kernel: kernel, permutations: permutations,
                                              neighbors: neighbors, symmetric: symmetric)
                if let statisticsPass {
                    matrix = try matrix.withCKA(from: StatisticsCKA.matrix(rowWidths: rows.map { $0.rows.shape[1] },
                                                                           columnWidths: symmetric ? [] : columns.map { $0.rows.shape[1] },
                                                                           symmetric: symmetric, memoryBudget: statisticsMemory,
                                                                           pass: statisticsPass))
                }
            } catch {
                let message = languageMessage(error)
                throw call.error(message.contains("k-NN") ? "neighbors" : message.contains("token budget") ? "tokens" : "a", message)
            }
            let twoModels = !symmetric && rowModel.transformer !== columnModel.transformer
            let correspondence = twoModels ? try matrix.layerCorrespondence() : nil
            var note: String? = nil
            if positions == "all",
               let worst = (rows + (symmetric ? [] : columns)).compactMap({ x in OutlierTokens.dominant(x.rows).map { (x.label, $0) } })
                .max(by: { $0.1.share < $1.1.share }), worst.1.share > 0.5 {
                note = "at \(worst.0) one token (row \(worst.1.row)) holds \(String(format: "%.0f", 100 * worst.1.share))% of the variance "
                    + "and dominates CKA (most models' first token); positions: \"skip-first\" leaves it out"
            }
            return .object(CKAValue(matrix: matrix, rowModel: rowModel.transformer.name, columnModel: columnModel.transformer.name,
                                    correspondence: correspondence, note: note))
        }
    }

    static func isAll(_ value: Value) -> Bool { value == .string("all") }

    /// Linear CKA from statistics: rows kept for the baseline, and memory for the pairs' cross-covariances.
    static let statisticsRowSample = 1024, statisticsMemory = 1024 * 1_048_576

    /// One labelled representation per point: by layer (`L3`) when the points are one kind
    /// at several layers, else by name.
    static func labelled(_ set: ActivationSet) throws -> [LabelledActivations] {
        let kinds = Set(set.points.map(\.kind))
        return try set.points.map { p in
            let byLayer = kinds.count == 1 && p.layer != nil
            return LabelledActivations(label: byLayer ? "L\(p.layer!)" : p.name, layer: byLayer ? p.layer : nil, rows: try set.rows(p))
        }
    }

    /// CKA pairs rows: both activations must hold the same tokens in the same order.
    static func checkSameTokens(_ call: Call, _ a: ActivationsValue, _ b: ActivationsValue) throws {
        let ta = a.captured.tokens, tb = b.captured.tokens
        let same = ta.count == tb.count && zip(ta, tb).allSatisfy { $0.id == $1.id && $0.position == $1.position && $0.textIndex == $1.textIndex }
        guard !same else { return }
        var message = "CKA compares representations of the same tokens, but a holds \(ta.count) tokens of \(a.captured.model) and b "
            + "\(tb.count) of \(b.captured.model)"
        if ta.count == tb.count { message = "CKA compares representations of the same tokens, but a and b hold different tokens" }
        if a.model.transformer !== b.model.transformer {
            message += "; to compare two models on one text, cka(m1, m2, text) pairs their tokens by byte offset"
        } else {
            message += "; capture both from the same text with the same positions and tokens"
        }
        throw call.error("b", message)
    }

    /// The texts two models read side by side: strings, or a corpus's first documents.
    static func pairedTexts(_ call: Call, _ parameter: String) throws -> [String] {
        switch call.value(parameter) {
        case .string(let s): return [s]
        case .list(let items): return items.map { $0.printed() }
        case .object(let c as CorpusValue):
            let documents = try call.integer("documents", in: 1...Int.max)
            return Array(c.corpus.train.prefix(documents))
        default:
            throw call.error(parameter, "two models read text side by side: give a text, a list of texts or a corpus, not a task")
        }
    }

    static func pairedCapture(_ call: Call, _ a: ModelValue, _ b: ModelValue, texts: [String], pointsA: [ActivationPoint],
                              pointsB: [ActivationPoint], options: CaptureOptions) throws -> (ActivationSet, ActivationSet) {
        let window = try call.integer("window", in: 2...Int.max)
        let interpreter = call.interpreter
        let sink = interpreter.progress
        sink?.begin(task: "cka \(a.transformer.name) · \(b.transformer.name)", unit: "sequences", total: 2 * texts.count)
        defer { sink?.end() }
        do {
            return try PairedCapture.run(a.transformer, b.transformer, texts: texts, pointsA: pointsA, pointsB: pointsB,
                                         options: options, window: window, progress: { done, total in
                sink?.report(done: done, total: total, detail: "")
                if done < total, interpreter.isCancelled() { throw CaptureStopped(done: done, total: total) }
            })
        } catch let stop as CaptureStopped {
            throw interrupted(call, stop)
        } catch let error as AnalysisError {
            throw call.error(error.description.hasPrefix("no tokens were selected") ? "positions" : "text", languageMessage(error))
        }
    }

    // MARK: reading text

    /// The points `names` (per-layer names at `layers`) name in `model`, or a located error
    /// that lists the valid names and suggests the closest.
    static func resolvePoints(_ call: Call, _ parameter: String, layers: String, model: ModelValue) throws -> [ActivationPoint] {
        let catalog = PointCatalog(model.transformer)
        let selected = try resolveLayers(call, layers, catalog: catalog)
        do {
            return try catalog.points(pointNames(call, parameter), layers: selected)
        } catch {
            throw call.error(parameter, languageMessage(error))
        }
    }

    /// A string (comma-separated names allowed) or a list of strings.
    static func pointNames(_ call: Call, _ parameter: String) -> [String] {
        switch call.value(parameter) {
        case .string(let s): return s.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        case .list(let items): return items.map { $0.printed() }
        default: return []
        }
    }

    /// Layers from a number, a list or range of numbers, or "all", "last", "0,5,10-12".
    static func resolveLayers(_ call: Call, _ parameter: String, catalog: PointCatalog) throws -> [Int] {
        let value = call.value(parameter)
        let count = catalog.layers.count
        var list: [Int]
        switch value {
        case .string(let s):
            do { return try catalog.layers(parsing: s) } catch { throw call.error(parameter, languageMessage(error)) }
        case .range(let r): list = Array(r.elements)
        case .list(let items): list = items.compactMap(\.integer)
        default: list = value.integer.map { [$0] } ?? []
        }
        guard !list.isEmpty else { throw call.error(parameter, "'\(parameter)' names no layer; give layers 0...\(count - 1), \"all\" or \"last\"") }
        var ordered: [Int] = [], seen = Set<Int>()
        for l in list {
            // -1 is the last layer, as in a list.
            let resolved = l < 0 ? l + count : l
            guard catalog.layers.contains(resolved) else {
                throw call.error(parameter, "\(catalog.modelName) has no layer \(l); its layers are 0...\(count - 1)")
            }
            if seen.insert(resolved).inserted { ordered.append(resolved) }
        }
        return ordered
    }

    /// Capture options from positions and tokens.
    static func captureOptions(_ call: Call, keepRows: Bool, statistics: Bool) throws -> CaptureOptions {
        let text = call.string("positions")
        let positions: PositionSelector
        do { positions = try PositionSelector(parsing: text) } catch {
            throw call.error("positions", "'positions' must be all, last, answer, skip-first or from:N, got \(Value.quote(text))"
                             + Suggestions.hint(for: text, among: positionChoices))
        }
        var budget: Int? = nil
        if call.value("tokens") != Value.none { budget = try call.integer("tokens", in: 1...Int.max) }
        return CaptureOptions(keepRows: keepRows, statistics: statistics, positions: positions, budget: budget)
    }

    /// The sequences `model` reads from argument `parameter`: texts (in windows), a corpus's
    /// first documents, or a task's examples.
    static func readSequences(_ call: Call, _ parameter: String, model: ModelValue) throws -> [CaptureSequence] {
        guard let tokenizer = model.transformer.tokenizer else {
            throw call.error(parameter, "\(model.transformer.name) has no tokenizer to read text with")
        }
        let window = try call.integer("window", in: 2...Int.max)
        do {
            switch call.value(parameter) {
            case .string(let s):
                return try CaptureInputs.texts([s], tokenizer: tokenizer, window: window)
            case .list(let items):
                return try CaptureInputs.texts(items.map { $0.printed() }, tokenizer: tokenizer, window: window)
            case .object(let c as CorpusValue):
                let documents = try call.integer("documents", in: 1...Int.max)
                return try CaptureInputs.corpus(c.corpus, tokenizer: tokenizer, documents: documents, window: window)
            case .object(let t as TaskValue):
                let split = call.string("split")
                guard split == "test" || split == "train" else {
                    throw call.error("split", "'split' must be \"test\" or \"train\", got \(Value.quote(split))"
                                     + Suggestions.hint(for: split, among: ["test", "train"]))
                }
                return try CaptureInputs.task(split == "train" ? t.suite.train : t.suite.test, tokenizer: tokenizer,
                                              contextLength: model.transformer.config.contextLength)
            default:
                throw call.error(parameter, "'\(parameter)' must be a string, a list of strings, a corpus or a task")
            }
        } catch let error as ScriptError {
            throw error
        } catch {
            throw call.error(parameter, languageMessage(error))
        }
    }

    /// Thrown by a capture's progress callback to stop it at a batch boundary.
    struct CaptureStopped: Error {
        let done: Int
        let total: Int
    }

    static func interrupted(_ call: Call, _ stop: CaptureStopped) -> ScriptError {
        ScriptError(.interrupted, "\(call.builtin.name): stopped after \(stop.done) of \(stop.total) sequences; nothing was kept",
                    at: call.range)
    }

    /// `generate:` — how many tokens to generate after each text, or nil.
    static func generateCount(_ call: Call) throws -> Int? {
        call.value("generate") == Value.none ? nil : try call.integer("generate", in: 1...Int.max)
    }

    /// Runs a capture with progress per batch, stopping at a batch boundary when the session
    /// is interrupted (an interrupted error; nothing is kept). With `generate`, the model
    /// generates that many tokens after each sequence's prompt and the rows are read as the
    /// generation computes them.
    static func capture(_ call: Call, model: ModelValue, sequences: [CaptureSequence], points: [ActivationPoint],
                        options: CaptureOptions, adapters: AdapterSet, text: String = "text", generate: Int? = nil) throws -> ActivationSet {
        let interpreter = call.interpreter
        let sink = interpreter.progress
        sink?.begin(task: "\(call.builtin.name) \(model.transformer.name)", unit: "sequences", total: sequences.count)
        defer { sink?.end() }
        let progress: (Int, Int) throws -> Void = { done, total in
            sink?.report(done: done, total: total, detail: "")
            if done < total, interpreter.isCancelled() { throw CaptureStopped(done: done, total: total) }
        }
        do {
            if let generate {
                return try GenerationCapture.run(model.transformer, prompts: sequences, generation: GenerationOptions(maxNewTokens: generate),
                                                 points: points, options: options, adapters: adapters,
                                                 arithmetic: model.generator.arithmetic, shouldStop: interpreter.isCancelled,
                                                 progress: progress).activations
            }
            return try ActivationCapture.run(model.transformer, sequences: sequences, points: points, options: options,
                                             adapters: adapters, arithmetic: model.generator.arithmetic, progress: progress)
        } catch let stop as CaptureStopped {
            throw interrupted(call, stop)
        } catch let stop as GenerationCapture.Stopped {
            throw interrupted(call, CaptureStopped(done: stop.done, total: stop.total))
        } catch let error as AnalysisError {
            throw call.error(error.description.hasPrefix("no tokens were selected") ? "positions" : text, languageMessage(error))
        }
    }

    /// An analysis error's message in the language's words: `points(m)` for `cast points`,
    /// parameter names for command-line options.
    static func languageMessage(_ error: any Error) -> String {
        var s = Interpreter.describe(error)
        while let r = s.range(of: "`cast points -m [^`]*`", options: .regularExpression) { s.replaceSubrange(r, with: "points(m)") }
        for (option, parameter) in [("--points hook_resid_post", "points: \"hook_resid_post\""), ("--components", "components:"),
                                    ("--tokens", "tokens:"), ("--layers", "layers"), ("--points", "points:")] {
            s = s.replacingOccurrences(of: option, with: parameter)
        }
        return s
    }

    // MARK: save and plot

    /// `save(a, path)`: FILE.safetensors (every point), FILE.npy (one point), or a folder of
    /// POINT.npy files beside tokens.json.
    static func saveActivations(_ a: ActivationsValue, to path: String, call: Call) throws -> Value {
        if call.optionalString("gguf") != nil { throw call.error("gguf", "gguf: is for LoRAs; activations are saved as safetensors or .npy") }
        let url = URL(fileURLWithPath: path)
        let lower = path.lowercased()
        if lower.hasSuffix(".npy"), a.captured.points.count != 1 {
            throw call.error("path", "a .npy file holds one point, but these activations hold \(a.captured.points.count); "
                             + "give a .safetensors file or a folder (one .npy per point)")
        }
        do {
            if lower.hasSuffix(".safetensors") {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try a.captured.writeSafetensors(to: url)
            } else if lower.hasSuffix(".npy") {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try NumpyArray.write(try a.captured.rows(a.captured.points[0]), to: url)
            } else {
                try a.captured.writeNumpy(folder: url)
            }
        } catch {
            throw call.error("path", Interpreter.describe(error))
        }
        return .string(path)
    }

    /// The figure `plot` draws for a PCA or a CKA value; nil for other data.
    static func figure(_ call: Call) throws -> Figure? {
        if let p = call.object("data", as: PCAValue.self) {
            guard case .none = call.value("y") else { throw call.error("y", "plot of a PCA takes no y values") }
            let kind = call.optionalString("kind") ?? "bar"
            let title = "\(p.model) \(p.point)"
            switch kind {
            case "bar":
                var figure = AnalysisFigures.explainedVariance(p.pca, title: title)
                if let names = try PlotFigures.labels(call, "labels", count: p.pca.componentCount, what: "components"),
                   case .bar(var bars) = figure.chart {
                    bars.labels = names
                    figure.chart = .bar(bars)
                }
                return figure
            case "scatter":
                guard p.pca.componentCount >= 2 else {
                    throw call.error("kind", "a PC scatter needs 2 components or more; this PCA kept 1 (pca(…, components: 2))")
                }
                let categories = try PlotFigures.labels(call, "labels", count: p.projections.shape[0], what: "tokens") ?? p.categories
                return try AnalysisFigures.componentScatter(p.projections, categories: categories, title: title + ": PC1 vs PC2")
            case "line":
                return AnalysisFigures.explainedVarianceCurves([(p.point, p.pca)], title: title + ": cumulative explained variance")
            default:
                throw call.error("kind", "a PCA plots as \"bar\" (explained variance), \"scatter\" (PC1 vs PC2) or \"line\" "
                                 + "(cumulative explained variance), not \(Value.quote(kind))"
                                 + Suggestions.hint(for: kind, among: ["bar", "scatter", "line"]))
            }
        }
        if let p = call.object("data", as: PairedPCAValue.self) {
            guard case .none = call.value("y") else { throw call.error("y", "plot of a pca_pair takes no y values") }
            let kind = call.optionalString("kind") ?? "scatter"
            switch kind {
            case "scatter":
                if call.value("labels") != Value.none { throw call.error("labels", "a pca_pair's scatter is coloured by model") }
                return p.figure
            case "bar": return AnalysisFigures.explainedVariance(p.pca, title: "\(p.paired.modelA) \(p.paired.pointA.name)")
            default:
                throw call.error("kind", "a pca_pair plots as \"scatter\" (both models on PC1 vs PC2) or \"bar\" (a's explained "
                                 + "variance), not \(Value.quote(kind))" + Suggestions.hint(for: kind, among: ["scatter", "bar"]))
            }
        }
        if let c = call.object("data", as: CKAValue.self) {
            guard case .none = call.value("y") else { throw call.error("y", "plot of a CKA matrix takes no y values") }
            if let kind = call.optionalString("kind"), kind != "heatmap" {
                throw call.error("kind", "a CKA matrix plots as a heatmap, not \(Value.quote(kind))")
            }
            let two = c.rowModel != c.columnModel
            var figure = AnalysisFigures.ckaHeatmap(c.matrix, title: two ? "CKA (\(c.matrix.kernel)): \(c.rowModel) vs \(c.columnModel)"
                                                    : "CKA (\(c.matrix.kernel)): \(c.columnModel)",
                                                    xLabel: c.columnModel, yLabel: c.rowModel)
            if case .heatmap(var h) = figure.chart {
                if let names = try PlotFigures.labels(call, "labels", count: c.matrix.rowLabels.count, what: "rows") { h.rowLabels = names }
                if let names = try PlotFigures.labels(call, "columns", count: c.matrix.columnLabels.count, what: "columns") { h.columnLabels = names }
                if call.value("values") != Value.none { h.showValues = call.bool("values") }
                figure.chart = .heatmap(h)
            }
            return figure
        }
        return nil
    }
}
