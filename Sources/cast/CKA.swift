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

    func validate() throws {
        if permutations < 0 { throw ValidationError("--permutations must be ≥ 0") }
        if let neighbors, neighbors < 1 { throw ValidationError("--neighbors must be at least 1") }
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
    }

    func run() throws {
        let budgetDefault = input.budget == nil ? 1024 : nil
        var captureOptions = try input.captureOptions(keepRows: true, statistics: false)
        if let budgetDefault { captureOptions.budget = budgetDefault }  // CKA holds [tokens, tokens] grams per point
        let kernel = try CKAKernel(parsing: kernel)
        let a = try model.load().model
        let pointsA = try pointOptions.resolve(PointCatalog(a))
        let matrix: SimilarityMatrix
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
        } else {
            let set = try ActivationCapture.run(a, sequences: input.sequences(for: a, arithmetic: model.arithmetic),
                                                points: pointsA, options: captureOptions, arithmetic: model.arithmetic)
            let xs = try labelled(set, pointsA)
            examined = xs
            matrix = try SimilarityMatrix(rows: xs, columns: xs, kernel: kernel, permutations: permutations,
                                          neighbors: neighbors, symmetric: true)
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
                                layer_map_best: correspondence.map { describe($0.best) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print("CKA (\(kernel)) over \(matrix.tokens) tokens" + (modelBName.map { ": rows \($0), columns \(a.name)" } ?? ": \(a.name)"))
        printMatrix("CKA", matrix.cka, matrix)
        if permutations > 0 { printMatrix("permutation baseline (mean of \(permutations) shuffles)", matrix.baseline, matrix) }
        if let m = matrix.mutualNeighbors { printMatrix("mutual \(neighbors!)-NN alignment", m, matrix) }
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
