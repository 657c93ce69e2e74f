import ArgumentParser
import CastAdapters
import CastAnalysis
import CastModels
import CastPlot
import CastTensor
import Foundation

/// `cast pca`: principal components of a point's activations.
struct PCA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "PCA of the activations at a point: explained variance, its ratios, participation ratio, and pictures.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @OptionGroup var input: AnalysisInputOptions
    @Option(help: "The point: a full name (blocks.15.hook_resid_post), or a per-layer name with --layers (one PCA per layer).")
    var point: String
    @Option(help: "Layers for a per-layer --point name: all, last, or indices and ranges.") var layers = "last"
    @Option(help: "How many components.") var components = 10
    @Flag(help: "Print JSON: {\"point\", \"tokens\", \"explained_variance\", \"explained_variance_ratio\", \"participation_ratio\"} (an array for several points).")
    var json = false
    @Option(help: "Draw an SVG: tokens on PC1/PC2 for one point (coloured by --color-by), cumulative explained variance for several.")
    var plot: String?
    @Option(help: "Draw the explained-variance ratios (bars and running total) as SVG.") var variancePlot: String?
    @Option(help: "Colour of the scatter's points: token-class, text (which text), answer (prompt/answer), or none.")
    var colorBy = "token-class"
    @Flag(help: "With several points of one width: one PCA over all their rows together (printed as point \"joint\"); --plot then draws every point's tokens on its PC1/PC2, coloured by point (layer).")
    var joint = false
    @Option(help: "A second model reading the same text (paired by byte offset): --plot draws its tokens on this model's PC1/PC2 beside this model's, coloured by model. The point must have the same width in both, or give --cast-adapter.")
    var modelB: String?
    @Option(help: "With --model-b: a CAST adapter folder for it (from this model, what `cast transfer` writes); its tokens are read at the module input the point's CAST layer sits on and mapped into this model's space by that layer's P_in.")
    var castAdapter: String?

    func validate() throws {
        if components < 1 { throw ValidationError("--components must be at least 1, got \(components)") }
        if modelB != nil && (plot == nil || joint) { throw ValidationError("--model-b draws both models on one PC scatter: give --plot (without --joint)") }
        if modelB != nil && input.generate != nil {
            throw ValidationError("--generate reads one model; --model-b reads the same text with both (--text, --text-file or --corpus)")
        }
        if castAdapter != nil && modelB == nil { throw ValidationError("--cast-adapter needs --model-b (the CAST adapter's target model)") }
        if !["token-class", "text", "answer", "none"].contains(colorBy) {
            throw ValidationError("--color-by must be token-class, text, answer or none, got \(colorBy)")
        }
    }

    struct Output: Encodable {
        let point: String
        let model: String
        let tokens: Int
        let width: Int
        let explained_variance: [Double]
        let explained_variance_ratio: [Double]
        let total_variance: Double
        let participation_ratio: Double
    }

    func run() throws {
        let transformer = try model.load().model
        let catalog = PointCatalog(transformer)
        let points = try catalog.points([point], layers: catalog.layers(parsing: layers))
        if let modelB { return try runTwoModels(transformer, points, modelB) }
        // Rows are kept only for a scatter; otherwise statistics alone bound the memory.
        let scatter = plot != nil && points.count == 1
        let (set, _) = try input.capture(transformer, points: points,
                                         options: try input.captureOptions(keepRows: scatter || (joint && plot != nil), statistics: true),
                                         adapters: try adapterOption.adapters(for: transformer), arithmetic: model.arithmetic)
        var results: [(name: String, pca: PrincipalComponents)] = []
        if joint {
            guard points.count > 1 else { throw AnalysisError("--joint needs several points (a per-layer --point with --layers)") }
            var all = try set.covariance(points[0])
            for p in points.dropFirst() {
                let s = try set.covariance(p)
                guard s.width == all.width else {
                    throw AnalysisError("--joint needs points of one width: \(points[0].name) is \(all.width) wide, \(p.name) \(s.width)")
                }
                try all.merge(s)
            }
            let pca = try PrincipalComponents(all, components: components)
            results.append(("joint", pca))
            if let plot {
                guard pca.componentCount >= 2 else { throw AnalysisError("a PC scatter needs --components 2 or more") }
                var projected: [Float] = [], categories: [String] = []
                for p in points {
                    let y = try pca.project(try set.rows(p))
                    projected += y.scalars
                    categories += Array(repeating: p.layer.map { "L\($0)" } ?? p.name, count: y.shape[0])
                }
                let rows = try Tensor(projected, shape: [categories.count, pca.componentCount])
                try AnalysisFigures.componentScatter(rows, categories: categories,
                                                     title: "\(transformer.name) \(point): joint PC1 vs PC2, by layer")
                    .svg().write(toFile: plot, atomically: true, encoding: .utf8)
            }
        } else {
            for p in points {
                results.append((p.name, try PrincipalComponents(try set.covariance(p), components: components)))
            }
        }
        if let plot, !joint {
            let figure: Figure
            if scatter {
                let (p, pca) = results[0]
                guard pca.componentCount >= 2 else { throw AnalysisError("a PC scatter needs --components 2 or more") }
                figure = try AnalysisFigures.componentScatter(try pca.project(try set.rows(points[0])), categories: categories(set, transformer),
                                                              title: "\(transformer.name) \(p): PC1 vs PC2")
            } else {
                figure = AnalysisFigures.explainedVarianceCurves(results.map { ($0.name, $0.pca) },
                                                                 title: "\(transformer.name): cumulative explained variance")
            }
            try figure.svg().write(toFile: plot, atomically: true, encoding: .utf8)
        }
        if let variancePlot {
            let (p, pca) = results[0]
            try AnalysisFigures.explainedVariance(pca, title: "\(transformer.name) \(p)").svg()
                .write(toFile: variancePlot, atomically: true, encoding: .utf8)
        }
        if let (p, pca) = results.first(where: { $0.pca.explainedVarianceRatio[0] > 0.9 }), input.positions == "all" {
            writeStandardError("note: PC1 of \(p) holds \(String(format: "%.1f", 100 * pca.explainedVarianceRatio[0]))% of the variance, "
                               + "usually one outsized token (most models' first token); --positions skip-first leaves it out\n")
        }
        let outputs = results.map { p, pca in
            Output(point: p, model: transformer.name, tokens: pca.tokens, width: pca.width,
                   explained_variance: pca.explainedVariance, explained_variance_ratio: pca.explainedVarianceRatio,
                   total_variance: pca.totalVariance, participation_ratio: pca.participationRatio)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = outputs.count == 1 ? try encoder.encode(outputs[0]) : try encoder.encode(outputs)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for o in outputs {
            print("\(o.model) \(o.point): \(o.tokens) tokens, width \(o.width), total variance \(String(format: "%.6g", o.total_variance)), "
                  + "participation ratio \(String(format: "%.2f", o.participation_ratio))")
            var total = 0.0
            let rows = o.explained_variance.indices.map { i -> [String] in
                total += o.explained_variance_ratio[i]
                return ["PC\(i + 1)", String(format: "%.6g", o.explained_variance[i]),
                        String(format: "%.4f", o.explained_variance_ratio[i]), String(format: "%.4f", total)]
            }
            print(TextTable(header: ["COMPONENT", "VARIANCE", "RATIO", "CUMULATIVE"], rows: rows, rightAligned: [1, 2, 3]).render())
        }
        if let plot { print("plot: \(plot)") }
        if let variancePlot { print("variance plot: \(variancePlot)") }
    }

    /// `--model-b`: this model's PCA at the point, and both models' tokens on its PC1/PC2.
    private func runTwoModels(_ a: Transformer, _ points: [ActivationPoint], _ nameB: String) throws {
        guard points.count == 1, let pointA = points.first else {
            throw AnalysisError("--model-b draws one point; \(point) at --layers \(layers) names \(points.count)")
        }
        var optionsB = model
        optionsB.model = nameB
        let b = try optionsB.load().model
        var cast: CastAdapter? = nil
        if let castAdapter {
            guard let folder = CastAdapterFolder.locate(castAdapter) else {
                throw AnalysisError("--cast-adapter \(castAdapter): not a CAST adapter folder (what `cast transfer` writes)")
            }
            cast = try CastAdapterFolder.load(folder, target: b)
            guard cast!.sourceName == a.name else {
                throw AnalysisError("--cast-adapter \(castAdapter) maps \(cast!.targetName) into \(cast!.sourceName), not into \(a.name) (-m)")
            }
        }
        var options = try input.captureOptions(keepRows: true, statistics: false)
        if input.budget == nil { options.budget = 4096 }  // rows are drawn: keep the picture readable
        if cast == nil, let wa = PointCatalog(a).width(of: pointA), let wb = PointCatalog(b).width(of: pointA), wa != wb {
            throw AnalysisError("\(pointA.name) is \(wa) wide in \(a.name) but \(wb) in \(b.name); "
                                + "give --cast-adapter to map \(b.name) into \(a.name)'s space")
        }
        let paired = try PairedComponents.run(a, b, texts: input.allTexts(), point: pointA, cast: cast, components: components,
                                              options: options, window: input.window)
        let pca = paired.pca
        guard pca.componentCount >= 2 else { throw AnalysisError("a PC scatter needs --components 2 or more") }
        try paired.scatter().svg().write(toFile: plot!, atomically: true, encoding: .utf8)
        let n = paired.projectionsA.shape[0], labelB = paired.labelB
        let output = Output(point: pointA.name, model: a.name, tokens: pca.tokens, width: pca.width,
                            explained_variance: pca.explainedVariance, explained_variance_ratio: pca.explainedVarianceRatio,
                            total_variance: pca.totalVariance, participation_ratio: pca.participationRatio)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        } else {
            print("\(a.name) \(pointA.name): \(n) tokens paired with \(labelB); PC1/PC2 explain "
                  + String(format: "%.1f%% / %.1f%%", 100 * pca.explainedVarianceRatio[0], 100 * pca.explainedVarianceRatio[1]))
            print("plot: \(plot!)")
        }
    }

    private func categories(_ set: ActivationSet, _ model: Transformer) -> [String]? {
        switch colorBy {
        case "none": return nil
        case "text": return set.tokens.map { "text \($0.textIndex + 1)" }
        case "answer": return set.tokens.map { $0.isAnswer ? "answer" : "prompt" }
        default:
            return set.tokens.map { token in
                let bytes = model.tokenizer?.textBytes(of: Int(token.id))
                return TokenClass(text: bytes.map { String(decoding: $0, as: UTF8.self) }).rawValue
            }
        }
    }
}
