import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastAnalysis
@testable import CastModels

/// PCA, CKA and mutual k-NN against numpy (scripts/record_analysis_reference.py) on the same
/// inputs: formula matrices, and smollm2-135m activations exported by `cast activations`.
struct AnalysisReference: Decodable {
    struct PCAResult: Decodable {
        var point: String
        var components: Int
        var explained_variance: [Double]
        var explained_variance_ratio: [Double]
        var participation_ratio: Double
        var projections: [[Double]]
    }
    struct Analyses: Decodable {
        var pca: PCAResult
        var cka: [String: [[Double]]]
        var mutual_knn_5: [[Double]]
        var points: [String]
    }
    struct Check: Decodable { var norms: [Double]; var first: [Double] }
    struct Real: Decodable {
        var text: String
        var tokens: Int
        var check: [String: Check]
        var pca: PCAResult
        var cka: [String: [[Double]]]
        var mutual_knn_5: [[Double]]
        var points: [String]
    }
    struct Formula: Decodable {
        var pca: PCAResult
        var cka: [String: [[Double]]]
        var mutual_knn_5: [[Double]]
    }
    var formula: Formula
    var smollm2: Real

    enum CodingKeys: String, CodingKey { case formula, smollm2 = "smollm2-135m" }

    static func load() throws -> AnalysisReference {
        let url = try #require(Bundle.module.url(forResource: "analysis-reference", withExtension: "json", subdirectory: "References"))
        return try JSONDecoder().decode(AnalysisReference.self, from: Data(contentsOf: url))
    }
}

@Suite struct NumpyAgreementTests {
    static func relative(_ a: Double, _ b: Double, scale: Double? = nil) -> Double {
        abs(a - b) / max(scale ?? abs(b), 1e-300)
    }

    func checkPCA(_ pca: PrincipalComponents, rows: Tensor, _ expected: AnalysisReference.PCAResult, _ tolerance: Double, _ what: String) throws {
        for (i, value) in expected.explained_variance.enumerated() {
            #expect(Self.relative(pca.explainedVariance[i], value) <= tolerance, "\(what) λ\(i + 1): \(pca.explainedVariance[i]) vs \(value)")
            #expect(Self.relative(pca.explainedVarianceRatio[i], expected.explained_variance_ratio[i]) <= tolerance, "\(what) ratio \(i + 1)")
        }
        #expect(Self.relative(pca.participationRatio, expected.participation_ratio) <= tolerance, "\(what) participation ratio")
        let k = expected.projections[0].count
        let projected = try pca.project(rows)
        for (r, row) in expected.projections.enumerated() {
            for i in 0..<k {
                // Relative to the component's spread (a coordinate near 0 has no relative digits).
                let spread = expected.explained_variance[i].squareRoot()
                let ours = Double(projected.data[r * pca.componentCount + i])
                #expect(Self.relative(ours, row[i], scale: spread) <= tolerance, "\(what) projection [\(r), \(i)]: \(ours) vs \(row[i])")
            }
        }
    }

    func checkMatrices(_ xs: [Tensor], _ cka: [String: [[Double]]], _ knn: [[Double]], _ tolerance: Double, _ what: String) throws {
        for (name, expected) in cka {
            let kernel = try CKAKernel(parsing: name)
            for i in xs.indices {
                for j in xs.indices {
                    let ours = try CKA.similarity(xs[i], xs[j], kernel: kernel)
                    #expect(Self.relative(ours, expected[i][j]) <= tolerance, "\(what) \(name) CKA[\(i), \(j)]: \(ours) vs \(expected[i][j])")
                }
            }
        }
        for i in xs.indices {
            for j in xs.indices {
                let ours = try NearestNeighbors.mutualAlignment(NearestNeighbors(CenteredGram(xs[i]), k: 5),
                                                                NearestNeighbors(CenteredGram(xs[j]), k: 5))
                #expect(abs(ours - knn[i][j]) <= 0.02, "\(what) mutual 5-NN [\(i), \(j)]: \(ours) vs \(knn[i][j])")
            }
        }
    }

    @Test func formulaMatricesAgreeWithNumpy() throws {
        let reference = try AnalysisReference.load()
        let x = Matrices.formula(64, 12), y = Matrices.formula(64, 20, phase: 0.5)
        var s = CovarianceAccumulator(width: 12)
        try s.add(x)
        try checkPCA(try PrincipalComponents(s, components: reference.formula.pca.components), rows: x, reference.formula.pca, 1e-4, "formula")
        try checkMatrices([x, y], reference.formula.cka, reference.formula.mutual_knn_5, 1e-4, "formula")
    }

    /// Recaptures the exported activations (checked against what numpy read), then PCA of
    /// the middle point and CKA between the three, within 1e-4 relative.
    @Test func smollm2ActivationsAgreeWithNumpy() throws {
        let reference = try AnalysisReference.load().smollm2
        let model = try TestModels.model("smollm2-135m")
        let points = try reference.points.map { try #require(ActivationPoint(parsing: $0)) }
        let set = try ActivationCapture.run(model, sequences: CaptureInputs.texts([reference.text], tokenizer: #require(model.tokenizer)),
                                            points: points, options: CaptureOptions(statistics: true, positions: .from(1)))
        #expect(set.tokens.count == reference.tokens)
        for point in points {
            let rows = try set.rows(point), check = reference.check[point.name]!
            let width = rows.shape[1]
            for (r, norm) in check.norms.enumerated() {
                var ours = 0.0
                for j in 0..<width { ours += Double(rows.data[r * width + j]) * Double(rows.data[r * width + j]) }
                #expect(Self.relative(ours.squareRoot(), norm) <= 1e-5, "\(point.name) row \(r) norm")
            }
        }
        let pcaPoint = try #require(ActivationPoint(parsing: reference.pca.point))
        let pca = try PrincipalComponents(set.statistics[pcaPoint]!, components: reference.pca.components)
        try checkPCA(pca, rows: try set.rows(pcaPoint), reference.pca, 1e-4, "smollm2")
        try checkMatrices(points.map { try set.rows($0) }, reference.cka, reference.mutual_knn_5, 1e-4, "smollm2")
    }
}
