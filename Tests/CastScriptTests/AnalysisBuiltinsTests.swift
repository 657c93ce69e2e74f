import CastAdapters
import CastAnalysis
import CastModels
import CastPlot
import CastTensor
import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// points, activations, pca and cka on the real smollm2-135m (and qwen2.5-0.5b across
/// models), against the CastAnalysis calls they wrap; their values, displays, plots, files,
/// errors and interruption.
@Suite("Analysis builtins", .serialized)
struct AnalysisBuiltinsTests {
    typealias Session = ModelBuiltinsTests.Session
    static let texts = ["The cat sat on the mat and looked out of the window.",
                        "Paris is the capital of France; 12 + 30 = 42.",
                        "Water boils at 100 degrees Celsius at sea level."]

    func model() throws -> Transformer { try TestModels.model("smollm2-135m") }

    func session() -> Session {
        let session = Session()
        session.interpreter.set("texts", Value(Self.texts))
        return session
    }

    func sequences(_ m: Transformer, window: Int = 1024) throws -> [CaptureSequence] {
        try CaptureInputs.texts(Self.texts, tokenizer: #require(m.tokenizer), window: window)
    }

    func numbers(_ value: Value) -> [Double] {
        guard case .list(let items) = value else { return [] }
        return items.compactMap { if case .number(let x) = $0 { x } else { nil } }
    }

    func matrix(_ value: Value) -> [[Double]] {
        guard case .list(let rows) = value else { return [] }
        return rows.map(numbers)
    }

    // MARK: points

    @Test("points(m) lists every capture point with its layer, width and shape, as the catalog does")
    func pointsTable() throws {
        let s = session()
        let catalog = PointCatalog(try model())
        let table = try #require(try s.value("points(m)").object as? TableValue)
        #expect(table.columns == ["point", "layer", "width", "shape", "what"])
        #expect(table.rows.map { $0[0] } == catalog.allPoints.map { .string($0.name) })
        #expect(table.rows.map { $0[2] } == catalog.allPoints.map { Value(catalog.width(of: $0)!) })
        #expect(try s.value("t = points(m); t[0].point") == .string("blocks.0.hook_resid_pre"))
        #expect(try s.value("t[-1].point") == .string("ln_final.hook_normalized"))
        #expect(try s.value("t[-1].layer") == Value.none)
        #expect(try s.value("t[1].shape") == .string("[tokens, 576]"))
        let plain = try s.show("points(m)")
        #expect(plain.hasPrefix("smollm2-135m (llama): 30 layers, d = 576; \(catalog.allPoints.count) points, each [tokens, width]"))
        #expect(plain.contains("blocks.0.attn.hook_z"))
        let compact = try #require(try s.value("points(m, compact: true)").object as? TableValue)
        #expect(compact.rows.count == catalog.kinds.count)
        #expect(compact.rows[0][0] == .string("blocks.{0..29}.hook_resid_pre"))
        #expect(compact.rows.last?[0] == .string("ln_final.hook_normalized"))
        #expect(try s.value("points(m, compact: true)").display()[MIMEType.html]?.contains("<th>point</th>") == true)
    }

    // MARK: activations

    @Test("activations equals ActivationCapture.run: every point's rows, tokens and attributes")
    func activationsMatchCapture() throws {
        let s = session()
        let m = try model()
        // In the order the pass computes them: a layer's attention output before its residual stream.
        let points = [ActivationPoint(.z, layer: 3), ActivationPoint(.residPost, layer: 3), ActivationPoint(.z, layer: 15),
                      ActivationPoint(.residPost, layer: 15), ActivationPoint(.finalNormalized, layer: nil)]
        let expected = try ActivationCapture.run(m, sequences: sequences(m), points: points)
        let value = try s.value("a = activations(m, texts, points: [\"hook_resid_post\", \"attn.z\", \"ln_final.hook_normalized\"], layers: [3, 15]); a")
        let a = try #require(value.object as? ActivationsValue)
        #expect(a.captured.points == points)
        for p in points { #expect(try a.captured.rows(p) == expected.rows(p)) }
        #expect(a.captured.tokens == expected.tokens)
        let n = expected.tokens.count
        #expect(n == 45)
        #expect(try s.value("a.tokens") == Value(n))
        #expect(try s.value("len(a)") == Value(n))
        #expect(try s.value("a.points") == Value(points.map(\.name)))
        #expect(try s.value("a.widths") == Value([576, 576, 576, 576, 576]))
        #expect(try s.value("a.sequences") == Value(3))
        #expect(try s.value("a.positions") == .string("all"))
        #expect(try s.value("a.ids") == Value(expected.tokens.map { Int($0.id) }))
        #expect(try s.value("a.texts") == Value(expected.tokens.map(\.textIndex)))
        #expect(try s.value("a.token_positions") == Value(expected.tokens.map(\.position)))
        #expect(try s.value("a.model") == s.value("m"))
        let tokenizer = try #require(m.tokenizer)
        #expect(try s.value("a.pieces") == Value(expected.tokens.map { tokenizer.tokenText(Int($0.id)) ?? "" }))
        #expect(try s.value("a[0].piece") == .string("The"))   // smollm2 adds no BOS
        #expect(try s.value("a[1].piece") == .string("Ġcat"))
        #expect(try s.value("[a[1].class, a[1].position, a[1].text]") == .list([.string("word"), Value(1), Value(0)]))
        #expect(try s.value("a.classes").length == n)
        #expect(try s.value("a[-1].text") == Value(2))
        #expect(try s.value("a.shapes.width") == Value([576, 576, 576, 576, 576]))
        #expect(try s.value("type(a)") == .string("activations"))
        #expect(try s.show("help(a)").contains("  .shapes"))
        #expect(try s.show("a") == """
            activations of smollm2-135m: 45 tokens from 3 sequences (positions: all), 5 points
            point                      tokens  width
            blocks.3.attn.hook_z           45    576
            blocks.3.hook_resid_post       45    576
            blocks.15.attn.hook_z          45    576
            blocks.15.hook_resid_post      45    576
            ln_final.hook_normalized       45    576
            """)
        #expect(value.display()[MIMEType.html]?.contains("<td>blocks.3.attn.hook_z</td>") == true)
        #expect(try s.show("str(a)") == "\"<activations smollm2-135m: \(n) tokens × 5 points>\"")
    }

    @Test("generate: reads prompt + generation as the generation computes them, as GenerationCapture does")
    func activationsDuringGeneration() throws {
        let s = session()
        let m = try model()
        let points = [ActivationPoint(.residPost, layer: 3), ActivationPoint(.residPost, layer: 15)]
        let run = try GenerationCapture.run(m, prompts: sequences(m), generation: GenerationOptions(maxNewTokens: 4), points: points,
                                            options: CaptureOptions(positions: .answer))
        let expected = run.activations, generated = run.generated.reduce(0) { $0 + $1.ids.count }
        let a = try #require(try s.value("a = activations(m, texts, layers: [3, 15], generate: 4, positions: \"answer\"); a").object
                             as? ActivationsValue)
        // The answer rows are the generated tokens (a text whose generation ends on EOS has fewer than 4).
        #expect(a.captured.tokens == expected.tokens && expected.tokens.count == generated && generated > 0)
        #expect(a.captured.tokens.allSatisfy { $0.isAnswer })
        for p in points {
            let got = try a.captured.rows(p), want = try expected.rows(p)
            #expect(got.shape == want.shape && zip(got.scalars, want.scalars).map { abs($0 - $1) }.max()! <= 1e-4)
        }
        #expect(try s.value("len(a)") == Value(generated))
        let p = try #require(try s.value("pca(m, texts, point: \"hook_resid_post\", layers: 15, generate: 4, components: 3)").object as? PCAValue)
        #expect(p.pca.tokens == 45 + generated)
        #expect(s.error("activations(m, texts, generate: 0)")?.hasPrefix("1:33: activations: 'generate' must be at least 1, got 0") == true,
                "\(s.error("activations(m, texts, generate: 0)") ?? "")")
        #expect(s.error("pca(a, point: \"blocks.3.hook_resid_post\", generate: 2)")?.contains("'generate' is for reading a model") == true)
        // Interrupted, the generation stops between decode steps and nothing is kept.
        s.interpreter.isCancelled = { true }
        let stopped = try #require(scriptError { try s.interpreter.evaluate("b = activations(m, texts, generate: 50)") })
        #expect(stopped.kind == .interrupted && stopped.message == "activations: stopped after 0 of 3 sequences; nothing was kept")
        #expect(s.interpreter.variables["b"] == nil)
    }

    @Test("positions, tokens, full names, ranges of layers, corpus and task inputs select as the engine does")
    func activationsSelection() throws {
        let s = session()
        let m = try model()
        let point = ActivationPoint(.residPost, layer: 29)
        let skip = try ActivationCapture.run(m, sequences: sequences(m), points: [point], options: CaptureOptions(positions: .from(1), budget: 20))
        let a = try #require(try s.value("activations(m, texts, points: \"blocks.29.hook_resid_post\", positions: \"skip-first\", tokens: 20)").object
                             as? ActivationsValue)
        #expect(try a.captured.rows(point) == skip.rows(point))
        #expect(a.captured.tokens.count == 20 && a.captured.tokens.allSatisfy { $0.position > 0 })
        let last = try #require(try s.value("activations(m, texts, layers: \"last\", positions: \"last\")").object as? ActivationsValue)
        #expect(last.captured.points == [point] && last.captured.tokens.count == 3)
        #expect(try s.value("activations(m, texts, layers: 0..<3).points")
                == Value(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "blocks.2.hook_resid_post"]))
        #expect(try s.value("activations(m, texts, layers: -1).points") == Value(["blocks.29.hook_resid_post"]))
        #expect(try s.value("activations(m, \"one text\", points: \"q_proj.hook_in\", layers: \"0,5-6\").points")
                == Value(["blocks.0.q_proj.hook_in", "blocks.5.q_proj.hook_in", "blocks.6.q_proj.hook_in"]))
        // A corpus's first documents.
        let wiki = try TextCorpus.wiki()
        let documents = try CaptureInputs.corpus(wiki, tokenizer: #require(m.tokenizer), documents: 2, window: 1024)
        let fromCorpus = try ActivationCapture.run(m, sequences: documents, points: [ActivationPoint(.residPost, layer: 1)],
                                                   options: CaptureOptions(budget: 50))
        let c = try #require(try s.value("activations(m, corpus(\"wiki\"), documents: 2, layers: 1, tokens: 50)").object as? ActivationsValue)
        #expect(try c.captured.rows(ActivationPoint(.residPost, layer: 1)) == fromCorpus.rows(ActivationPoint(.residPost, layer: 1)))
        // A task's answer tokens.
        let suite = try TaskSuite.load("arith")
        let examples = try CaptureInputs.task(suite.test, tokenizer: #require(m.tokenizer), contextLength: m.config.contextLength)
        let answers = try ActivationCapture.run(m, sequences: examples, points: [ActivationPoint(.residPost, layer: 2)],
                                                options: CaptureOptions(positions: .answer, budget: 30))
        let t = try #require(try s.value("activations(m, task(\"arith\"), layers: 2, positions: \"answer\", tokens: 30)").object as? ActivationsValue)
        #expect(try t.captured.rows(ActivationPoint(.residPost, layer: 2)) == answers.rows(ActivationPoint(.residPost, layer: 2)))
        #expect(try s.value("activations(m, task(\"arith\"), layers: 2, positions: \"answer\", tokens: 30)[0].answer") == .bool(true))
    }

    @Test("save(a, …) writes safetensors, .npy and a folder of .npy files as the engine's exports")
    func saveActivations() throws {
        let s = session()
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        s.interpreter.set("dir", .string(folder.path))
        let a = try #require(try s.value("a = activations(m, texts, layers: [0, 29]); a").object as? ActivationsValue)
        #expect(try s.value("save(a, dir + \"/sub/acts.safetensors\")") == .string(folder.path + "/sub/acts.safetensors"))
        let read = try SafetensorsFile(url: folder.appendingPathComponent("sub/acts.safetensors"))
        #expect(Set(read.names) == ["blocks.0.hook_resid_post", "blocks.29.hook_resid_post"])
        for p in a.captured.points { #expect(try read.tensor(p.name) == a.captured.rows(p)) }
        #expect(read.metadata["model"] == "smollm2-135m")
        #expect(read.metadata["token_ids"] == "[" + a.captured.tokens.map { String($0.id) }.joined(separator: ",") + "]")
        _ = try s.value("save(a, dir + \"/npy\")")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("npy/blocks.29.hook_resid_post.npy").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("npy/tokens.json").path))
        _ = try s.value("one = activations(m, texts, layers: 29); save(one, dir + \"/one.npy\")")
        let one = try #require(s.interpreter.variables["one"]?.object as? ActivationsValue)
        let npy = try Data(contentsOf: folder.appendingPathComponent("one.npy"))
        #expect(Array(npy) == NumpyArray.bytes(try one.captured.rows(one.captured.points[0])))
    }

    // MARK: pca

    @Test("pca equals PrincipalComponents of the same rows: variances, ratios, participation ratio, projections")
    func pcaMatchesEngine() throws {
        let s = session()
        let m = try model()
        let point = ActivationPoint(.residPost, layer: 15)
        let set = try ActivationCapture.run(m, sequences: sequences(m), points: [point], options: CaptureOptions(positions: .from(1)))
        let expected = try PrincipalComponents(set.covariance(point), components: 5)
        let projections = try expected.project(set.rows(point))
        _ = try s.value("a = activations(m, texts, points: \"blocks.15.hook_resid_post\", positions: \"skip-first\")")
        let value = try s.value("p = pca(a, components: 5); p")
        let p = try #require(value.object as? PCAValue)
        #expect(p.pca.explainedVariance == expected.explainedVariance)
        #expect(p.projections == projections)
        #expect(numbers(try s.value("p.explained_variance")) == expected.explainedVariance)
        #expect(numbers(try s.value("p.ratio")) == expected.explainedVarianceRatio)
        #expect(try s.value("p.participation_ratio") == .number(expected.participationRatio))
        #expect(try s.value("p.total_variance") == .number(expected.totalVariance))
        #expect(try s.value("p.tokens") == Value(set.tokens.count))
        #expect(try s.value("[p.width, p.n_components, len(p.projections), len(p.projections[0]), len(p.components), len(p.components[0]), len(p.mean)]")
                == Value([576, 5, set.tokens.count, 5, 5, 576, 576]))
        let cumulative = numbers(try s.value("p.cumulative"))
        #expect(abs(cumulative[4] - expected.explainedVarianceRatio.reduce(0, +)) < 1e-12)
        #expect(try s.value("p.point") == .string("blocks.15.hook_resid_post"))
        #expect(try s.value("p.note") == Value.none)
        #expect(try s.value("p.categories") == s.value("a.classes"))
        // The same PCA read straight from the model.
        let direct = try #require(try s.value("pca(m, texts, point: \"blocks.15.hook_resid_post\", components: 5, positions: \"skip-first\")").object
                                  as? PCAValue)
        #expect(direct.pca.explainedVariance == expected.explainedVariance)
        #expect(direct.projections == projections)
        // A per-layer name takes the last layer of a model.
        #expect(try s.value("pca(m, texts, point: \"resid_post\", components: 2).point") == .string("blocks.29.hook_resid_post"))
        // Display: a table with the caption; text/plain and text/html.
        let plain = try #require(value.display()[MIMEType.plain])
        let lines = plain.split(separator: "\n")
        #expect(lines[0].hasPrefix("PCA of smollm2-135m blocks.15.hook_resid_post: \(set.tokens.count) tokens, width 576, total variance "))
        #expect(lines[1].split(separator: " ") == ["component", "variance", "ratio", "cumulative"])
        #expect(lines.count == 7 && lines[2].hasPrefix("PC1 "))
        #expect(lines[2].hasSuffix(String(format: "%.4f", expected.explainedVarianceRatio[0])))
        #expect(value.display()[MIMEType.html]?.contains("<th style=\"text-align: right\">ratio</th>") == true)
        #expect(try s.show("str(p)").hasPrefix("\"<pca blocks.15.hook_resid_post: 5 components, PC1 "))
    }

    @Test("a joint PCA over several layers merges their statistics; the first token's outsized PC1 gets a note")
    func jointPCA() throws {
        let s = session()
        let m = try model()
        let points = [4, 12, 20].map { ActivationPoint(.residPost, layer: $0) }
        let set = try ActivationCapture.run(m, sequences: sequences(m), points: points)
        var statistics = try set.covariance(points[0])
        for p in points.dropFirst() { try statistics.merge(set.covariance(p)) }
        let expected = try PrincipalComponents(statistics, components: 3)
        _ = try s.value("a = activations(m, texts, layers: [4, 12, 20])")
        let p = try #require(try s.value("pca(a, point: \"hook_resid_post\", components: 3)").object as? PCAValue)
        #expect(p.pca.explainedVariance == expected.explainedVariance)
        #expect(p.points == points)
        #expect(p.point == "joint L4,L12,L20 hook_resid_post")
        #expect(p.categories == points.flatMap { pt in Array(repeating: "L\(pt.layer!)", count: set.tokens.count) })
        #expect(p.projections.shape == [3 * set.tokens.count, 3])
        // One layer of the three.
        let one = try #require(try s.value("pca(a, point: \"hook_resid_post\", layers: 12, components: 3)").object as? PCAValue)
        #expect(one.pca.explainedVariance == (try PrincipalComponents(set.covariance(points[1]), components: 3)).explainedVariance)
        // With the first token kept, one token holds PC1, and the table says so.
        let note = try s.show("pca(a, point: \"blocks.20.hook_resid_post\", components: 2)")
        #expect(note.contains("note: PC1 holds"), "\(note)")
        #expect(note.hasSuffix("usually one outsized token (most models' first token); positions: \"skip-first\" leaves it out"))
    }

    @Test("plot(p) draws the explained variance, kind: scatter PC1 vs PC2 by token class, line the cumulative curve")
    func pcaPlots() throws {
        let s = session()
        _ = try s.value("a = activations(m, texts, points: \"blocks.10.hook_resid_post\", positions: \"skip-first\"); p = pca(a, components: 4)")
        let p = try #require(s.interpreter.variables["p"]?.object as? PCAValue)
        let bars = try #require(try s.value("plot(p)").object as? PlotValue)
        guard case .bar(let chart) = bars.figure.chart else { Issue.record("not bars"); return }
        #expect(chart.values == p.pca.explainedVarianceRatio && chart.cumulative && chart.labels == ["1", "2", "3", "4"])
        #expect(bars.figure.title == "smollm2-135m blocks.10.hook_resid_post")
        #expect(bars.figure.yLabel == "explained variance ratio")
        let named = try #require(try s.value("plot(p, labels: [\"PC1\", \"PC2\", \"PC3\", \"PC4\"], title: \"variance\")").object as? PlotValue)
        guard case .bar(let namedChart) = named.figure.chart else { Issue.record("not bars"); return }
        #expect(namedChart.labels == ["PC1", "PC2", "PC3", "PC4"] && named.figure.title == "variance")
        let scatter = try #require(try s.value("plot(p, kind: \"scatter\")").object as? PlotValue)
        guard case .scatter(let points) = scatter.figure.chart else { Issue.record("not a scatter"); return }
        let k = p.projections.shape[1]
        #expect(points.x == (0..<p.projections.shape[0]).map { Double(p.projections.data[$0 * k]) })
        #expect(points.y == (0..<p.projections.shape[0]).map { Double(p.projections.data[$0 * k + 1]) })
        #expect(points.categories == p.categories)
        #expect(scatter.figure.xLabel == "PC1" && scatter.figure.yLabel == "PC2")
        let byText = try #require(try s.value("plot(p, kind: \"scatter\", labels: a.texts)").object as? PlotValue)
        guard case .scatter(let textPoints) = byText.figure.chart else { Issue.record("not a scatter"); return }
        #expect(Set(textPoints.categories ?? []) == ["0", "1", "2"])
        #expect(try s.value("plot(p, kind: \"line\").kind") == .string("line"))
        #expect(try s.value("plot(p).svg").plainText.contains("<svg"))
    }

    // MARK: cka

    @Test("cka(a) and cka(m, text) equal SimilarityMatrix over the same rows, baseline included")
    func ckaWithinModel() throws {
        let s = session()
        let m = try model()
        let points = [0, 10, 20, 29].map { ActivationPoint(.residPost, layer: $0) }
        let set = try ActivationCapture.run(m, sequences: sequences(m), points: points, options: CaptureOptions(positions: .from(1), budget: 1024))
        let xs = try points.map { LabelledActivations(label: "L\($0.layer!)", layer: $0.layer, rows: try set.rows($0)) }
        let expected = try SimilarityMatrix(rows: xs, columns: xs, symmetric: true)
        _ = try s.value("a = activations(m, texts, layers: [0, 10, 20, 29], positions: \"skip-first\")")
        let value = try s.value("c = cka(a); c")
        let c = try #require(value.object as? CKAValue)
        #expect(c.matrix.cka == expected.cka && c.matrix.baseline == expected.baseline)
        #expect(matrix(try s.value("c.matrix")) == expected.cka)
        #expect(matrix(try s.value("c.baseline")) == expected.baseline)
        #expect(matrix(try s.value("c.excess")) == expected.excess)
        #expect(try s.value("c.rows") == Value(["L0", "L10", "L20", "L29"]))
        #expect(try s.value("c.columns") == Value(["L0", "L10", "L20", "L29"]))
        #expect(try s.value("[c.tokens, c.permutations, c.kernel]") == .list([Value(set.tokens.count), Value(8), .string("linear")]))
        #expect(try s.value("c.layer_map") == Value.none)
        #expect(try s.value("c[1][1]") == .number(expected.cka[1][1]))
        #expect(try s.value("len(c)") == Value(4))
        // Straight from the model, with the text given in b's place.
        let direct = try #require(try s.value("cka(m, texts, layers: [0, 10, 20, 29], positions: \"skip-first\")").object as? CKAValue)
        #expect(direct.matrix.cka == expected.cka)
        let plain = try #require(value.display()[MIMEType.plain])
        let lines = plain.split(separator: "\n").map(String.init)
        #expect(lines[0] == "CKA (linear) over \(set.tokens.count) tokens: smollm2-135m")
        #expect(lines[1].split(separator: " ") == ["L0", "L10", "L20", "L29"])
        #expect(lines[2].split(separator: " ") == ["L0"] + expected.cka[0].map { String(format: "%.3f", $0) }.map { Substring($0) })
        #expect(lines[6].hasPrefix("permutation baseline: mean "))
        #expect(value.display()[MIMEType.html]?.contains("<table>") == true)
        // kernel and neighbours as the engine computes them.
        let rbf = try #require(try s.value("cka(a, kernel: \"rbf\", permutations: 0, neighbors: 5)").object as? CKAValue)
        let expectedRBF = try SimilarityMatrix(rows: xs, columns: xs, kernel: .rbf(sigmaScale: 0.5), permutations: 0, neighbors: 5, symmetric: true)
        #expect(rbf.matrix.cka == expectedRBF.cka && rbf.matrix.mutualNeighbors == expectedRBF.mutualNeighbors)
        #expect(try s.value("cka(a, permutations: 0).baseline") == Value.none)
        // plot(c): the heatmap on a fixed 0…1 scale.
        let heat = try #require(try s.value("plot(c)").object as? PlotValue)
        guard case .heatmap(let h) = heat.figure.chart else { Issue.record("not a heatmap"); return }
        #expect(h.values == expected.cka && h.range == 0...1 && h.rowLabels == ["L0", "L10", "L20", "L29"])
        #expect(heat.figure.title == "CKA (linear): smollm2-135m")
        let relabelled = try #require(try s.value("plot(c, labels: [\"a\", \"b\", \"c\", \"d\"], values: false)").object as? PlotValue)
        guard case .heatmap(let h2) = relabelled.figure.chart else { Issue.record("not a heatmap"); return }
        #expect(h2.rowLabels == ["a", "b", "c", "d"] && h2.showValues == false)
    }

    @Test("linear cka past 16384 tokens comes from statistics over every token, its baseline from the rows")
    func ckaFromStatistics() throws {
        let s = session()
        let m = try model()
        let points = [0, 10, 20, 29].map { ActivationPoint(.residPost, layer: $0) }
        let set = try ActivationCapture.run(m, sequences: sequences(m), points: points, options: CaptureOptions(positions: .from(1), budget: 1024))
        let xs = try points.map { LabelledActivations(label: "L\($0.layer!)", layer: $0.layer, rows: try set.rows($0)) }
        let expected = try SimilarityMatrix(rows: xs, columns: xs, symmetric: true)
        // A budget past the rows' limit: the texts' few tokens, all of them, from statistics.
        let value = try s.value("c = cka(m, texts, layers: [0, 10, 20, 29], positions: \"skip-first\", tokens: 20000); c")
        let c = try #require(value.object as? CKAValue)
        #expect(c.matrix.path == "statistics" && c.matrix.tokens == set.tokens.count && c.matrix.sampleTokens == set.tokens.count)
        #expect(c.matrix.baseline == expected.baseline)
        for i in 0..<4 {
            for j in 0..<4 { #expect(abs(c.matrix.cka[i][j] - expected.cka[i][j]) <= 1e-5, "[\(i), \(j)]") }
        }
        #expect(try s.show("c").hasPrefix("CKA (linear) over \(set.tokens.count) tokens (from statistics in 1 pass; baseline over the first \(set.tokens.count)): smollm2-135m"))
    }

    @Test("cka(m1, m2, text) pairs two models' tokens by byte offset and suggests a layer map cast takes")
    func ckaAcrossModels() throws {
        let s = session()
        let a = try model(), b = try TestModels.model("qwen2.5-0.5b")
        let pointsA = [0, 10, 20, 29].map { ActivationPoint(.residPost, layer: $0) }
        let pointsB = Array(0..<24).map { ActivationPoint(.residPost, layer: $0) }
        let (setA, setB) = try PairedCapture.run(a, b, texts: Self.texts, pointsA: pointsA, pointsB: pointsB,
                                                 options: CaptureOptions(positions: .from(1), budget: 1024))
        func labelled(_ set: ActivationSet, _ points: [ActivationPoint]) throws -> [LabelledActivations] {
            try points.map { LabelledActivations(label: "L\($0.layer!)", layer: $0.layer, rows: try set.rows($0)) }
        }
        let expected = try SimilarityMatrix(rows: labelled(setB, pointsB), columns: labelled(setA, pointsA))
        let map = try #require(try expected.layerCorrespondence())
        let value = try s.value("q = load(\"qwen2.5-0.5b\"); c = cka(m, q, texts, layers: [0, 10, 20, 29], positions: \"skip-first\"); c")
        let c = try #require(value.object as? CKAValue)
        #expect(c.matrix.cka == expected.cka && c.matrix.baseline == expected.baseline)
        #expect(c.matrix.rowLabels.count == 24 && c.matrix.columnLabels == ["L0", "L10", "L20", "L29"])
        let described = map.pairs.keys.sorted().map { "\($0):\(map.pairs[$0]!)" }.joined(separator: ",")
        #expect(try s.value("c.layer_map") == .string(described))
        #expect(try s.value("[c.row_model, c.column_model]") == Value(["qwen2.5-0.5b", "smollm2-135m"]))
        #expect(try s.value("c.layer_map_best") != Value.none)
        #expect(try s.show("c").contains("suggested layer map (target:source): \(described)"))
        // The map is one cast(…, layer_map:) accepts.
        #expect(try LayerMapping(parsing: described) == map.mapping)
        // Activations of the same model and text pair row for row; another model's do not.
        #expect(throws: Never.self) { try s.value("x = activations(q, texts, layers: [0, 23]); cka(x, x)") }
        let heat = try #require(try s.value("plot(c)").object as? PlotValue)
        #expect(heat.figure.title == "CKA (linear): qwen2.5-0.5b vs smollm2-135m")
        #expect(heat.figure.xLabel == "smollm2-135m" && heat.figure.yLabel == "qwen2.5-0.5b")
    }

    // MARK: errors and interruption

    @Test("errors are located at the argument at fault and say what would work")
    func errors() throws {
        let s = session()
        _ = try s.value("a = activations(m, texts, layers: [3, 4])")
        let cases: [(String, String)] = [
            ("activations(m, texts, points: \"hook_resid_pots\")",
             "1:31: activations: hook_resid_pots: no such point. Did you mean hook_resid_post or hook_resid_pre or hook_resid_mid? Points per layer: "),
            ("activations(m, texts, points: \"blocks.3.hook_resid_pots\")",
             "1:31: activations: blocks.3.hook_resid_pots: no point 'hook_resid_pots' in a layer. Did you mean hook_resid_post or hook_resid_pre or hook_resid_mid? Points per layer: hook_resid_pre, ln1.hook_normalized, "),
            ("activations(m, texts, points: \"blocks.40.hook_resid_post\")",
             "1:31: activations: blocks.40.hook_resid_post: smollm2-135m has no layer 40 (its layers are 0...29)"),
            ("activations(m, texts, layers: [3, 30])", "1:31: activations: smollm2-135m has no layer 30; its layers are 0...29"),
            ("activations(m, texts, layers: \"0-x\")",
             "1:31: activations: layers '0-x': '0-x' is not a layer; use all, last, or indices and ranges like 0,5,10-12 (layers 0...29)"),
            ("activations(m, \"\")", "1:16: activations: text 1 of 1 is empty: activations need at least one token of text"),
            ("activations(m, [])", "1:16: activations: no text given: activations need at least one non-empty text"),
            ("activations(m, texts, positions: \"skip-frist\")",
             "1:34: activations: 'positions' must be all, last, answer, skip-first or from:N, got \"skip-frist\"; did you mean 'skip-first'?"),
            ("activations(m, texts, positions: \"answer\")",
             "1:34: activations: no tokens were selected (positions: answer; only task examples and generations have answer tokens)"),
            ("activations(m, texts, tokens: 0)", "1:31: activations: 'tokens' must be at least 1, got 0"),
            ("activations(m, 3)", "1:16: activations: 'text' must be a string, list of strings, corpus or task, got a number (3)"),
            ("activations(m, texts, adapter: lora(load(\"qwen2.5-0.5b\")))", "1:32: activations: the LoRA is for qwen2.5-0.5b, not smollm2-135m"),
            ("pca(a, components: 3)",
             "1:1: pca: these activations hold 2 points: say which with point: (one of blocks.3.hook_resid_post, blocks.4.hook_resid_post)"),
            ("pca(a, point: \"blocks.5.hook_resid_post\")",
             "1:15: pca: blocks.5.hook_resid_post was not captured; these activations hold blocks.3.hook_resid_post, blocks.4.hook_resid_post"),
            ("pca(m, \"Hi there\", point: \"blocks.3.hook_resid_post\", components: 5)",
             "1:67: pca: PCA: 5 components need at least 6 tokens, got 2 (n tokens span at most n − 1 directions); give more text or ask for ≤ 1 components"),
            ("pca(m, point: \"blocks.3.hook_resid_post\")",
             "1:5: pca: pca of a model needs text to read: pca(m, \"some text\", point: …), or pca(activations(…))"),
            ("pca(a, point: \"blocks.3.hook_resid_post\", positions: \"last\")",
             "1:54: pca: 'positions' is for reading a model; these activations were already captured (give it to activations(…), or call pca(m, text, …))"),
            ("pca(a, point: \"blocks.3.hook_resid_post\", components: 700)",
             "1:55: pca: PCA: 700 components asked of a point only 576 wide; use components: ≤ 576"),
            ("plot(pca(a, point: \"blocks.3.hook_resid_post\", components: 2), kind: \"heatmap\")",
             "1:70: plot: a PCA plots as \"bar\" (explained variance), \"scatter\" (PC1 vs PC2) or \"line\" (cumulative explained variance), not \"heatmap\""),
            ("plot(pca(a, point: \"blocks.3.hook_resid_post\", components: 1), kind: \"scatter\")",
             "1:70: plot: a PC scatter needs 2 components or more; this PCA kept 1 (pca(…, components: 2))"),
            ("plot(cka(a), kind: \"bar\")", "1:20: plot: a CKA matrix plots as a heatmap, not \"bar\""),
            ("cka(a, kernel: \"rfb\")", "1:16: cka: 'kernel' must be linear, rbf or rbf:SCALE (e.g. rbf:0.5), got \"rfb\"; did you mean 'rbf'?"),
            ("cka(a, activations(m, texts, layers: 3, tokens: 5))",
             "1:8: cka: CKA compares representations of the same tokens, but a holds 45 tokens of smollm2-135m and b 5 of smollm2-135m; capture both from the same text with the same positions and tokens"),
            ("cka(m)", "1:5: cka: cka of a model needs text to read: cka(m, \"some text\"), or cka(m1, m2, \"some text\")"),
            ("cka(a, points: \"hook_z\")", "1:16: cka: 'points' is for reading models; these activations were already captured"),
            ("cka(m, m, \"one token\", layers: 0, tokens: 1)", "1:5: cka: CKA needs at least 2 tokens, got 1"),
            ("save(a, \"/tmp/x.npy\")",
             "1:9: save: a .npy file holds one point, but these activations hold 2; give a .safetensors file or a folder (one .npy per point)"),
        ]
        for (source, expected) in cases {
            let got = s.error(source)
            #expect(got?.hasPrefix(expected) == true, "\(source)\n got: \(got ?? "no error")\nwant: \(expected)")
        }
        // The session goes on: a is intact.
        #expect(try s.value("a.points") == Value(["blocks.3.hook_resid_post", "blocks.4.hook_resid_post"]))
    }

    @Test("an interrupted capture stops at a batch boundary with a located error, binds nothing and keeps the session")
    func interruption() throws {
        let s = session()
        let progress = RecordingProgress()
        progress.stopAfter = 1
        s.interpreter.progress = progress
        s.interpreter.isCancelled = { progress.shouldStop }
        // Four texts of about 700 tokens: one per pass of 1024 rows, so four batches.
        let long = String(repeating: "The quick brown fox jumps over the lazy dog while the cat sleeps. ", count: 50)
        s.interpreter.set("long", Value([long, long + "A", long + "B", long + "C"]))
        let error = try #require(scriptError { try s.interpreter.evaluate("x = 1\nb = activations(m, long, points: \"blocks.0.hook_resid_post\")") })
        #expect(error.kind == .interrupted)
        #expect("\(error.range.start): \(error.message)" == "2:5: activations: stopped after 1 of 4 sequences; nothing was kept")
        #expect(s.interpreter.variables["b"] == nil)
        #expect(progress.events == ["begin activations smollm2-135m 4 sequences", "1/4", "end"])
        // pca and cka stop the same way.
        progress.events = []
        progress.reports = 0
        let pcaError = try #require(scriptError { try s.interpreter.evaluate("pca(m, long, point: \"blocks.0.hook_resid_post\")") })
        #expect(pcaError.kind == .interrupted && pcaError.message == "pca: stopped after 1 of 4 sequences; nothing was kept")
        progress.events = []
        progress.reports = 0
        let ckaError = try #require(scriptError { try s.interpreter.evaluate("cka(m, m, long, layers: 0, tokens: 50)") })
        #expect(ckaError.kind == .interrupted, "\(ckaError)")
        // Not interrupted, the same call completes and reports every batch.
        progress.stopAfter = nil
        progress.events = []
        #expect(try s.value("len(activations(m, long, points: \"blocks.0.hook_resid_post\", tokens: 100))") == Value(100))
        #expect(progress.events.first == "begin activations smollm2-135m 4 sequences" && progress.events.last == "end")
    }
}

/// examples/activation_tour.cast through `cast run`, in a temporary folder (it writes its
/// plots to out/ there).
@Suite("cast run examples/activation_tour.cast", .serialized)
struct ActivationTourTests {
    /// The script prints what the golden file holds (numbers with a fraction within 0.01),
    /// and writes its four SVG pictures and the activations. `CAST_UPDATE_GOLDEN=1` rewrites the golden file.
    @Test("examples/activation_tour.cast prints the golden output and writes its plots")
    func tour() throws {
        let folder = try runExampleAgainstGolden("activation_tour")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["variance.svg", "pcs.svg", "layers.svg", "cka.svg"] {
            let svg = try String(contentsOf: folder.appendingPathComponent("out/\(name)"), encoding: .utf8)
            #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), "\(name)")
        }
        let acts = try SafetensorsFile(url: folder.appendingPathComponent("out/acts.safetensors"))
        #expect(acts.metadata["model"] == "smollm2-135m")
    }
}
