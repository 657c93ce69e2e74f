import ArgumentParser
import CastAnalysis
import CastModels
import CastPlot
import CastTensor
import Foundation

/// `cast cka`: how alike the activations at several points are, within a model or across
/// two models on the same text.
struct CKA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cka",
        abstract: "CKA between activation points, within a model or across two (aligned by byte offset), with a permutation baseline and a suggested layer map.")

    @OptionGroup var model: ModelOptions
    @Option(help: "A second model (the target): compare its points (rows) with the first model's (columns, the source).")
    var modelB: String?
    @OptionGroup var input: AnalysisInputOptions
    @OptionGroup var pointOptions: PointOptions
    @Option(help: "Points of the second model (default: the same names as --points).") var pointsB: String?
    @Option(help: "Layers of the second model (default: --layers where the second model has them all, else all).")
    var layersB: String?
    @Option(help: "Kernel: linear, rbf (σ = 0.5 × median distance) or rbf:SCALE.") var kernel = "linear"
    @Option(help: "Shuffles for the permutation baseline (0: none).") var permutations = 8
    @Option(help: "Also compute mutual k-nearest-neighbour alignment with this k.") var neighbors: Int?
    @Flag(help: "Print JSON: {\"rows\", \"columns\", \"cka\", \"baseline\", \"baseline_sd\", \"mutual_knn\", \"layer_map\", ...}.")
    var json = false
    @Option(help: "Draw the CKA matrix as an SVG heatmap.") var plot: String?
    @Flag(help: "Linear CKA from statistics (cross-covariances in double) over every token read, or --tokens of them, keeping no rows; the permutation baseline and k-NN stay on a row sample of the first 1024 tokens. Used by itself when --tokens exceeds 16384.")
    var statistics = false
    @Option(help: "With statistics: memory for the cross-covariances, in MiB; pairs that do not fit at once take more passes over the text.")
    var statisticsMemory = 1024

    /// Tokens whose rows CKA keeps by default, and the row sample of the statistics path.
    static let rowSample = 1024

    func validate() throws {
        if permutations < 0 { throw ValidationError("--permutations must be ≥ 0") }
        if let neighbors, neighbors < 1 { throw ValidationError("--neighbors must be at least 1") }
        if statisticsMemory < 1 { throw ValidationError("--statistics-memory must be at least 1 MiB") }
        if modelB != nil && input.generate != nil {
            throw ValidationError("--generate reads one model; two models read the same text (--text, --text-file or --corpus)")
        }
    }

    struct Output: Encodable {
        let model_a: String
        let model_b: String?
        let kernel: String
        let tokens: Int
        let rows: [String]
        let columns: [String]
        let cka: [[Double]]
        let baseline: [[Double]]?
        let baseline_sd: [[Double]]?
        let permutations: Int
        let mutual_knn: [[Double]]?
        let neighbors: Int?
        let layer_map: String?
        let layer_map_best: String?
        /// "rows" (grams of kept rows) or "statistics" (cross-covariances over every token).
        let path: String
        /// Tokens the permutation baseline and k-NN read (the row sample on the statistics path).
        let baseline_tokens: Int
        /// Statistics path: passes over the text and the memory budget they kept to.
        let passes: Int?
        let statistics_memory_mib: Int?
    }

    func run() throws {
        let kernel = try CKAKernel(parsing: kernel)
        let requested = input.budget ?? 0
        let fromStatistics = statistics || requested > CenteredGram.maximumTokens
        if fromStatistics && kernel != .linear {
            throw ValidationError("CKA over more than \(CenteredGram.maximumTokens) tokens (or --statistics) is linear CKA from statistics; "
                                  + "the \(kernel) kernel keeps [tokens, tokens] matrices: use --tokens ≤ \(CenteredGram.maximumTokens)")
        }
        // Rows: CKA holds [tokens, tokens] grams per point; from statistics, only the
        // baseline's sample keeps rows.
        var captureOptions = try input.captureOptions(keepRows: true, statistics: false)
        captureOptions.budget = fromStatistics ? min(requested > 0 ? requested : Self.rowSample, Self.rowSample)
                                               : input.budget ?? Self.rowSample
        let statisticsOptions = try input.captureOptions(keepRows: false, statistics: false)
        let memory = statisticsMemory * 1_048_576
        let a = try model.load().model
        let pointsA = try pointOptions.resolve(PointCatalog(a))
        var matrix: SimilarityMatrix
        var examined: [LabelledActivations] = []
        var modelBName: String? = nil
        if let modelB {
            var optionsB = model
            optionsB.model = modelB
            let b = try optionsB.load().model
            modelBName = b.name
            let catalogB = PointCatalog(b)
            let namesB = (pointsB ?? pointOptions.points).split(separator: ",").map(String.init)
            let resolvedB = try catalogB.points(namesB, layers: catalogB.layers(parsing: layersB ?? ((try? catalogB.layers(parsing: pointOptions.layers)) != nil ? pointOptions.layers : "all")))
            let (setA, setB) = try PairedCapture.run(a, b, texts: input.allTexts(), pointsA: pointsA, pointsB: resolvedB,
                                                     options: captureOptions, window: input.window)
            let rowsB = try labelled(setB, resolvedB), columnsA = try labelled(setA, pointsA)
            examined = rowsB + columnsA
            matrix = try SimilarityMatrix(rows: rowsB, columns: columnsA, kernel: kernel, permutations: permutations, neighbors: neighbors)
            if fromStatistics {
                let passes = try StatisticsCKA.pairedPasses(a, b, texts: input.allTexts(), pointsA: pointsA, pointsB: resolvedB,
                                                            options: statisticsOptions, window: input.window)
                matrix = try matrix.withCKA(from: StatisticsCKA.matrix(rowWidths: rowsB.map { $0.rows.shape[1] },
                                                                       columnWidths: columnsA.map { $0.rows.shape[1] },
                                                                       memoryBudget: memory, pass: passes))
            }
        } else {
            let (set, sequences) = try input.capture(a, points: pointsA, options: captureOptions, adapters: .none,
                                                     arithmetic: model.arithmetic)
            let xs = try labelled(set, pointsA)
            examined = xs
            matrix = try SimilarityMatrix(rows: xs, columns: xs, kernel: kernel, permutations: permutations,
                                          neighbors: neighbors, symmetric: true)
            if fromStatistics {
                let passes = StatisticsCKA.passes(a, sequences: sequences, points: pointsA, options: statisticsOptions,
                                                  arithmetic: model.arithmetic)
                matrix = try matrix.withCKA(from: StatisticsCKA.matrix(rowWidths: xs.map { $0.rows.shape[1] }, columnWidths: [],
                                                                       symmetric: true, memoryBudget: memory, pass: passes))
            }
        }
        let correspondence = modelB == nil ? nil : try matrix.layerCorrespondence()
        if input.positions == "all",
           let worst = examined.compactMap({ x in OutlierTokens.dominant(x.rows).map { (x.label, $0) } }).max(by: { $0.1.share < $1.1.share }),
           worst.1.share > 0.5 {
            writeStandardError("note: at \(worst.0) one token (row \(worst.1.row)) holds \(String(format: "%.0f", 100 * worst.1.share))% of the variance "
                               + "and dominates CKA (most models' first token); --positions skip-first leaves it out\n")
        }
        if let plot {
            let title = modelBName.map { "CKA (\(kernel)): \($0) vs \(a.name)" } ?? "CKA (\(kernel)): \(a.name)"
            try AnalysisFigures.ckaHeatmap(matrix, title: title, xLabel: a.name, yLabel: modelBName ?? a.name).svg()
                .write(toFile: plot, atomically: true, encoding: .utf8)
        }
        func describe(_ pairs: [Int: Int]) -> String { pairs.keys.sorted().map { "\($0):\(pairs[$0]!)" }.joined(separator: ",") }
        if json {
            let output = Output(model_a: a.name, model_b: modelBName, kernel: kernel.description, tokens: matrix.tokens,
                                rows: matrix.rowLabels, columns: matrix.columnLabels, cka: matrix.cka,
                                baseline: permutations > 0 ? matrix.baseline : nil,
                                baseline_sd: permutations > 0 ? matrix.baselineStandardDeviation : nil,
                                permutations: permutations, mutual_knn: matrix.mutualNeighbors, neighbors: neighbors,
                                layer_map: correspondence.map { describe($0.pairs) },
                                layer_map_best: correspondence.map { describe($0.best) },
                                path: matrix.path, baseline_tokens: matrix.sampleTokens,
                                passes: fromStatistics ? matrix.passes : nil,
                                statistics_memory_mib: fromStatistics ? statisticsMemory : nil)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print("CKA (\(kernel)) over \(matrix.tokens) tokens" + (modelBName.map { ": rows \($0), columns \(a.name)" } ?? ": \(a.name)")
              + (fromStatistics ? ", from statistics (\(matrix.passes) pass\(matrix.passes == 1 ? "" : "es") over the text)" : ""))
        printMatrix("CKA", matrix.cka, matrix)
        let sample = fromStatistics ? " over a sample of the first \(matrix.sampleTokens) tokens" : ""
        if permutations > 0 { printMatrix("permutation baseline (mean of \(permutations) shuffles\(sample))", matrix.baseline, matrix) }
        if let m = matrix.mutualNeighbors { printMatrix("mutual \(neighbors!)-NN alignment\(sample)", m, matrix) }
        if let correspondence {
            print("suggested layer map (target:source, order-preserving, on CKA − baseline): \(describe(correspondence.pairs))")
            print("  use with: cast transfer … --layer-map \(describe(correspondence.pairs))")
        }
        if let plot { print("plot: \(plot)") }
    }

    private func labelled(_ set: ActivationSet, _ points: [ActivationPoint]) throws -> [LabelledActivations] {
        let kinds = Set(points.map(\.kind))
        return try points.map { p in
            // One kind per layer: label by layer; mixed kinds: by full name.
            let label = kinds.count == 1 && p.layer != nil ? "L\(p.layer!)" : p.name
            return LabelledActivations(label: label, layer: kinds.count == 1 ? p.layer : nil, rows: try set.rows(p))
        }
    }

    private func printMatrix(_ title: String, _ m: [[Double]], _ matrix: SimilarityMatrix) {
        print("\n\(title):")
        let rows = m.enumerated().map { i, row in [matrix.rowLabels[i]] + row.map { String(format: "%.3f", $0) } }
        print(TextTable(header: [""] + matrix.columnLabels, rows: rows, rightAligned: Set(1...matrix.columnLabels.count)).render())
    }
}
