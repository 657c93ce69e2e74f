import CastAnalysis
import CastPlot
import CastTensor
import Foundation

/// A PCA fitted on one model's tokens with a second model's tokens, read on the same text,
/// on its components (`pca_pair(a, b, text, point: …)`): shown as both models' tokens on
/// PC1/PC2, coloured by model (text graphics in a terminal; SVG, with the variance table,
/// in a notebook).
public final class PairedPCAValue: ScriptObject {
    public static let typeName = "pca_pair"
    public static let summary = "A PCA of one model's tokens with a second model's tokens on its components: pp.ratio, "
        + "pp.projections_a, pp.projections_b, pp.mapped; shown, and plot(pp) drawn, as both on PC1/PC2 coloured by model."
    public let paired: PairedComponents
    public let figure: Figure
    public let svg: String
    public let text: String

    /// Throws when the scatter cannot be drawn (fewer than 2 components).
    public init(_ paired: PairedComponents, textWidth: Int = TextRenderer.defaultWidth) throws {
        self.paired = paired
        figure = try paired.scatter()
        svg = try figure.svg()
        text = try figure.text(width: textWidth)
    }

    var pca: PrincipalComponents { paired.pca }

    var cumulative: [Double] {
        var total = 0.0
        return pca.explainedVarianceRatio.map { total += $0; return total }
    }

    public static var attributes: [Attribute<PairedPCAValue>] {
        [Attribute("model_a", "The model the components were fitted on (the source).") { .string($0.paired.modelA) },
         Attribute("model_b", "The second model (the target).") { .string($0.paired.modelB) },
         Attribute("point", "a's point.") { .string($0.paired.pointA.name) },
         Attribute("point_b", "Where b was read: the CAST layer's module input, or the same point.") { .string($0.paired.pointB.name) },
         Attribute("mapped", "Whether b's tokens went through a CAST layer's P_in into a's space.") { .bool($0.paired.mapped) },
         Attribute("label_b", "b's name in the legend.") { .string($0.paired.labelB) },
         Attribute("tokens", "How many paired tokens each model contributed.") { Value($0.paired.projectionsA.shape[0]) },
         Attribute("width", "The width the PCA was fitted in (a's point).") { Value($0.pca.width) },
         Attribute("n_components", "How many components were kept.") { Value($0.pca.componentCount) },
         Attribute("explained_variance", "Each component's variance over a's tokens, descending.") {
             .list($0.pca.explainedVariance.map { .number($0) })
         },
         Attribute("ratio", "Each component's share of a's total variance.") { .list($0.pca.explainedVarianceRatio.map { .number($0) }) },
         Attribute("cumulative", "The running total of the ratios.") { .list($0.cumulative.map { .number($0) }) },
         Attribute("projections_a", "a's tokens on the components, a list of [PC1, PC2, …] rows.") { PCAValue.rows($0.paired.projectionsA) },
         Attribute("projections_b", "b's tokens on the same components, row r the same place in the text as a's row r.") {
             PCAValue.rows($0.paired.projectionsB)
         },
         Attribute("svg", "The scatter as an SVG document, a string.") { .string($0.svg) }]
    }

    var caption: String {
        let ratios = pca.explainedVarianceRatio
        let share = ratios.count >= 2
            ? String(format: "; PC1/PC2 explain %.1f%% / %.1f%%", 100 * ratios[0], 100 * ratios[1]) + " of \(paired.modelA)'s variance" : ""
        let b = paired.mapped ? paired.modelB : paired.labelB
        return "PCA of \(paired.modelA) \(paired.pointA.name) with \(b) (read at \(paired.pointB.name)"
            + (paired.mapped ? ", mapped by P_in" : "") + "): \(paired.projectionsA.shape[0]) paired tokens" + share
    }

    /// The SVG without its XML declaration, to sit inside HTML.
    var inlineSVG: String { svg.range(of: "<svg").map { String(svg[$0.lowerBound...]) } ?? svg }

    public func display() -> MIMEBundle {
        let total = cumulative
        let table = RenderedTable(header: ["component", "variance", "ratio", "cumulative"],
                                  rows: pca.explainedVariance.indices.map { i in
                                      ["PC\(i + 1)", String(format: "%.6g", pca.explainedVariance[i]),
                                       String(format: "%.4f", pca.explainedVarianceRatio[i]), String(format: "%.4f", total[i])]
                                  }, rightAligned: [1, 2, 3], caption: caption)
        return [MIMEType.plain: caption + "\n" + text + "\n" + figure.summary,
                MIMEType.html: "<div>\(inlineSVG)</div>\n" + table.html,
                MIMEType.svg: svg]
    }

    public var brief: String {
        "<pca_pair \(paired.modelA) · \(paired.labelB) at \(paired.pointA.name): \(paired.projectionsA.shape[0]) tokens each>"
    }
}
