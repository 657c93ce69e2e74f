import CastAdapters
import CastAnalysis
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// pca_pair on the real smollm2-135m → qwen2.5-0.5b pair: against `cast pca --model-b
/// --cast-adapter` on the same inputs, its display, its plots and its errors.
@Suite("pca_pair builtin", .serialized)
struct PairedPCABuiltinTests {
    typealias Session = ModelBuiltinsTests.Session

    /// A session with m (smollm2-135m), q (qwen2.5-0.5b), a q_proj LoRA of m saved under
    /// `folder`, and c, its CAST adapter to q, saved as a CAST folder; and the source points c maps into.
    func session(_ folder: URL) throws -> (Session, covered: [Int]) {
        let s = Session()
        s.interpreter.set("texts", Value(AnalysisBuiltinsTests.texts))
        s.interpreter.set("lora_dir", .string(folder.appendingPathComponent("lora").path))
        s.interpreter.set("cast_dir", .string(folder.appendingPathComponent("cast").path))
        _ = try s.value("q = load(\"qwen2.5-0.5b\")\nl = lora(m, rank: 4, modules: [\"q_proj\"])\nsave(l, lora_dir)\n"
                        + "c = cast(l, from: m, to: q)\nsave(c, cast_dir)")
        let c = try #require(try s.value("c").object as? CastValue)
        return (s, Array(Set(c.cast.layers.map(\.sourceSlot.layer))).sorted())
    }

    @Test("pca_pair through a CAST adapter agrees with cast pca --model-b --cast-adapter on the same inputs")
    func agreesWithTheCommandLine() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (s, covered) = try session(folder)
        let layer = covered[covered.count / 2]
        let point = "blocks.\(layer).q_proj.hook_in"
        let svgPath = folder.appendingPathComponent("cli.svg").path
        let r = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--model-b", "qwen2.5-0.5b", "--cast-adapter",
                                         folder.appendingPathComponent("cast").path, "--point", point, "--text",
                                         AnalysisBuiltinsTests.texts[0], "--text", AnalysisBuiltinsTests.texts[1], "--text",
                                         AnalysisBuiltinsTests.texts[2], "--positions", "skip-first", "--components", "4",
                                         "--json", "--plot", svgPath])
        #expect(r.status == 0, "\(r.stderr)")
        let cli = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        // The CAST value and the folder it was saved to give the same picture.
        for source in ["c", "cast_dir"] {
            let value = try s.value("pp = pca_pair(m, q, texts, point: \"\(point)\", cast: \(source), positions: \"skip-first\", components: 4); pp")
            let pp = try #require(value.object as? PairedPCAValue)
            #expect(pp.paired.mapped && pp.paired.modelB == "qwen2.5-0.5b")
            #expect(pp.paired.pointB.kind == .linearInput(.query) && pp.paired.pointB.layer != nil)
            #expect(cli["tokens"] as? Int == pp.pca.tokens && cli["point"] as? String == point)
            let variance = try #require(cli["explained_variance"] as? [Double])
            let ratio = try #require(cli["explained_variance_ratio"] as? [Double])
            #expect(variance.count == 4 && ratio.count == 4)
            for i in 0..<4 {
                #expect(abs(variance[i] - pp.pca.explainedVariance[i]) <= 1e-4 * variance[i], "PC\(i + 1) variance")
                #expect(abs(ratio[i] - pp.pca.explainedVarianceRatio[i]) <= 1e-4 * ratio[i], "PC\(i + 1) ratio")
            }
            // The same scatter: both models' tokens, interleaved, under the same legend.
            let cliSVG = try String(contentsOfFile: svgPath, encoding: .utf8)
            let points = { (svg: String) in svg.components(separatedBy: "class=\"point\"").count - 1 }
            #expect(points(pp.svg) == 2 * pp.pca.tokens && points(cliSVG) == points(pp.svg))
            let label = "qwen2.5-0.5b L\(pp.paired.pointB.layer!) P_in"
            #expect(pp.svg.contains(">\(label)<") && cliSVG.contains(">\(label)<") && pp.svg.contains(">smollm2-135m<"))
            #expect(try s.value("pp.projections_b").length == pp.pca.tokens)
            #expect(try s.value("pp.label_b") == .string(label))
        }
        // Shown as text (caption and text graphic), HTML (the SVG beside the variance table) and SVG.
        let bundle = try s.value("pp").display()
        #expect(bundle[MIMEType.plain]?.hasPrefix("PCA of smollm2-135m \(point) with qwen2.5-0.5b (read at blocks.") == true)
        #expect(bundle[MIMEType.html]?.contains("<svg") == true && bundle[MIMEType.html]?.contains("<th>component</th>") == true)
        #expect(bundle[MIMEType.svg]?.contains("<svg") == true)
        #expect(bundle[MIMEType.html]?.contains("<?xml") == false)
        #expect(bundle[MIMEType.plain]?.contains("● smollm2-135m") == true)
        let plot = try #require(try s.value("plot(pp)").object as? PlotValue)
        #expect(plot.figure.title == "smollm2-135m \(point): PC1 vs PC2")
        let bars = try #require(try s.value("plot(pp, kind: \"bar\")").object as? PlotValue)
        #expect(bars.kind == "bar")
    }

    @Test("one model against itself at the same point needs no adapter; its tokens pair with themselves")
    func sameWidthWithoutAdapter() throws {
        let s = Session()
        s.interpreter.set("texts", Value(AnalysisBuiltinsTests.texts))
        let pp = try #require(try s.value("pca_pair(m, m, texts, point: \"hook_resid_post\", layer: 6, positions: \"skip-first\")").object
                              as? PairedPCAValue)
        #expect(!pp.paired.mapped && pp.paired.labelB == "smollm2-135m (B)")
        // The same model on the same text: b's projections are a's.
        let a = pp.paired.projectionsA, b = pp.paired.projectionsB
        #expect(a.shape == b.shape)
        #expect(zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! <= 1e-3)
    }

    @Test("errors are located at the argument at fault and say what would work")
    func errors() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (s, covered) = try session(folder)
        let uncovered = try #require((0..<30).first { !covered.contains($0) })
        let good = "blocks.\(covered[0]).q_proj.hook_in"
        let cases: [(String, String)] = [
            ("pca_pair(m, q, texts, point: \"blocks.3.q_proj.hook_inn\", cast: c)",
             "1:30: pca_pair: blocks.3.q_proj.hook_inn: no point 'q_proj.hook_inn' in a layer. Did you mean q_proj.hook_in"),
            ("pca_pair(m, q, texts, point: \"blocks.\(uncovered).q_proj.hook_in\", cast: c)",
             "1:30: pca_pair: the CAST adapter (qwen2.5-0.5b → smollm2-135m) maps nothing into blocks.\(uncovered).q_proj.hook_in; it maps into "),
            ("pca_pair(q, m, texts, point: \"\(good)\", cast: c)",
             "1:\(40 + good.count): pca_pair: the CAST adapter carries smollm2-135m → qwen2.5-0.5b, not qwen2.5-0.5b → smollm2-135m (a → b)"),
            ("pca_pair(m, q, texts, point: \"blocks.6.hook_resid_post\")",
             "1:13: pca_pair: blocks.6.hook_resid_post is 576 wide in smollm2-135m but 896 in qwen2.5-0.5b; give cast:"),
            ("pca_pair(m, q, texts, point: \"hook_resid_post\")", "1:30: pca_pair: hook_resid_post is a per-layer name: give layer:"),
            ("pca_pair(m, q, texts, point: \"\(good)\", cast: c, components: 1)", "1:\(55 + good.count): pca_pair: 'components' must be at least 2, got 1"),
            ("pca_pair(m, q, texts, point: \"\(good)\", cast: c, positions: \"answer\")",
             "1:\(54 + good.count): pca_pair: no tokens were selected (positions: answer"),
            ("pca_pair(m, q, texts, point: \"\(good)\", cast: \"/nonexistent\")",
             "1:\(40 + good.count): pca_pair: \"/nonexistent\" is not a CAST adapter folder"),
            ("plot(pca_pair(m, m, texts, point: \"blocks.2.hook_resid_post\"), kind: \"line\")",
             "1:70: plot: a pca_pair plots as \"scatter\" (both models on PC1 vs PC2) or \"bar\""),
        ]
        for (source, expected) in cases {
            let got = s.error(source)
            #expect(got?.hasPrefix(expected) == true, "\(source)\n got: \(got ?? "no error")\nwant: \(expected)")
        }
        // The adapter-layer error suggests the closest point it does map.
        let hint = s.error("pca_pair(m, q, texts, point: \"blocks.\(uncovered).q_proj.hook_in\", cast: c)") ?? ""
        #expect(hint.contains("did you mean 'blocks."), "\(hint)")
    }
}
