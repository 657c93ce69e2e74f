import CastPlot
import CastTensor

/// The pictures people want of activations, as CastPlot figures (SVG or terminal text).
public enum AnalysisFigures {
    /// Tokens on two principal components, coloured by `categories` (model, layer or token
    /// class; one per row of `projections`, or nil for one colour).
    public static func componentScatter(_ projections: Tensor, categories: [String]?, x: Int = 0, y: Int = 1,
                                        title: String) throws -> Figure {
        guard projections.rank == 2, projections.shape[1] > max(x, y) else {
            throw AnalysisError("a PC scatter of components \(x + 1) and \(y + 1) needs at least \(max(x, y) + 1) components")
        }
        let n = projections.shape[0], k = projections.shape[1], p = projections.data
        let xs = (0..<n).map { Double(p[$0 * k + x]) }, ys = (0..<n).map { Double(p[$0 * k + y]) }
        return Figure(title: title, xLabel: "PC\(x + 1)", yLabel: "PC\(y + 1)",
                      chart: .scatter(ScatterChart(x: xs, y: ys, categories: categories)))
    }

    /// Explained-variance ratio per component, with the running total.
    public static func explainedVariance(_ pca: PrincipalComponents, title: String) -> Figure {
        Figure(title: title, xLabel: "component", yLabel: "explained variance ratio",
               chart: .bar(BarChart(values: pca.explainedVarianceRatio, cumulative: true)))
    }

    /// Cumulative explained variance of several points (one curve per layer, say).
    public static func explainedVarianceCurves(_ curves: [(label: String, pca: PrincipalComponents)], title: String) -> Figure {
        let series = curves.map { label, pca -> LineSeries in
            var total = 0.0
            let cumulative = pca.explainedVarianceRatio.map { total += $0; return total }
            return LineSeries(name: label, x: cumulative.indices.map { Double($0 + 1) }, y: cumulative)
        }
        return Figure(title: title, xLabel: "components", yLabel: "cumulative explained variance",
                      chart: .line(LineChart(series: series)))
    }

    /// The CKA matrix as a heatmap on a fixed 0…1 scale (so pictures compare).
    public static func ckaHeatmap(_ m: SimilarityMatrix, title: String, xLabel: String = "", yLabel: String = "") -> Figure {
        Figure(title: title, xLabel: xLabel, yLabel: yLabel,
               chart: .heatmap(Heatmap(values: m.cka, rowLabels: m.rowLabels, columnLabels: m.columnLabels, range: 0...1)))
    }
}
