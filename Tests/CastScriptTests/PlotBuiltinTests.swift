import CastAdapters
import CastModels
import CastTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CastScript

/// `plot` and `save(plot, …)`: the values they make, how they show, and their errors.
@Suite("Plot builtin")
struct PlotBuiltinTests {
    func plot(_ sandbox: Sandbox, _ source: String) throws -> PlotValue {
        try #require(try sandbox.value(source).object as? PlotValue)
    }

    @Test("plot(list) is a line plot shown as text graphics with a summary, and as SVG")
    func linePlot() throws {
        let sandbox = Sandbox()
        let p = try plot(sandbox, "plot([3.1, 2.4, 1.9, 1.7], title: \"loss\", xlabel: \"step\", ylabel: \"nats\")")
        #expect(try sandbox.value("type(plot([1, 2]))") == .string("plot"))
        let bundle = Value.object(p).display()
        let plain = try #require(bundle[MIMEType.plain])
        #expect(plain.hasSuffix("\nline plot (1 series, 4 points): loss"))
        #expect(plain.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) })
        #expect(plain.split(separator: "\n").allSatisfy { $0.count <= 72 })
        let svg = try #require(bundle[MIMEType.svg])
        _ = try XMLDocument(xmlString: svg, options: [])
        #expect(try sandbox.value("plot([1, 2], title: \"t\").kind") == .string("line"))
        #expect(try sandbox.value("plot([1, 2], title: \"t\").title") == .string("t"))
        #expect(try sandbox.value("len(plot([1, 2]).svg) > 100") == .bool(true))
        #expect(try sandbox.value("plot(0..<5, [1, 4, 9, 16, 25]).summary") == .string("line plot (1 series, 5 points)"))
        #expect(try sandbox.value("plot([[1, 2, 3], [3, 2, 1]], kind: \"line\", labels: [\"up\", \"down\"]).summary")
            == .string("line plot (2 series, 6 points)"))
        #expect(try sandbox.value("str(plot([1, 2]))") == .string("<plot line plot (1 series, 2 points)>"))
    }

    @Test("the kind follows the data: pairs scatter, lists of lists heatmap; kind: overrides")
    func kinds() throws {
        let sandbox = Sandbox()
        #expect(try plot(sandbox, "plot([[0, 1], [1, 2], [2, 0]])").kind == "scatter")
        #expect(try plot(sandbox, "plot([[1, 0.5, 0.2], [0.5, 1, 0.4], [0.2, 0.4, 1]])").kind == "heatmap")
        let scatter = try plot(sandbox, "plot([1, 2, 3, 4], [2, 1, 4, 3], kind: \"scatter\", labels: [\"a\", \"a\", \"b\", 7])")
        #expect(scatter.figure.summary == "scatter plot (4 points, 3 categories)")
        #expect(scatter.svg.contains(">7</text>"))
        let heat = try plot(sandbox, "plot([[1, 0.8], [0.8, 1]], kind: \"heatmap\", labels: [\"src\", \"tgt\"], title: \"CKA\")")
        guard case .heatmap(let h) = heat.figure.chart else { Issue.record("not a heatmap"); return }
        #expect(h.rowLabels == ["src", "tgt"] && h.columnLabels == ["src", "tgt"])
        let bars = try plot(sandbox, "plot([0.5, 0.3, 0.2], kind: \"bar\", cumulative: true, labels: [\"PC1\", \"PC2\", \"PC3\"])")
        #expect(bars.kind == "bar" && bars.text.contains("PC1") && bars.text.contains("Σ 1"))
        #expect(try plot(sandbox, "plot([1, 10, 100], log_y: true)").svg.contains("data-value=\"100.0\""))
    }

    @Test("nan and inf are left out with a note")
    func nonFinite() throws {
        let sandbox = Sandbox()
        let p = try plot(sandbox, "plot([1, 2, 1e308 * 10, 3])")
        #expect(p.text.contains("note: dropped 1 non-finite point"))
        #expect(p.svg.contains("note: dropped 1 non-finite point"))
    }

    @Test("wrong types, lengths and kinds are errors located at the argument at fault")
    func errors() {
        let sandbox = Sandbox()
        let cases: [(String, String)] = [
            ("plot(\"abc\")", "1:6: plot: 'data' must be a list, range, lora or cast, got a string (\"abc\")"),
            ("plot([1, \"a\", 3])", "1:6: plot: 'data' must hold numbers, but element 1 is a string"),
            ("plot([1, 2], [1, 2, 3])", "1:14: plot: x has 2 values but y has 3"),
            ("plot([])", "1:6: plot: series \"\" is empty"),
            ("plot([[1, 2], [3]], kind: \"heatmap\")", "1:6: plot: heatmap rows must be equally long: row 0 has 2 values, row 1 has 1"),
            ("plot([1, 2], kind: \"pie\")", "1:20: plot: 'kind' must be one of \"line\", \"scatter\", \"bar\", \"heatmap\", got \"pie\""),
            ("plot([1, 2], [3, 4], kind: \"scatter\", labels: [\"a\"])", "1:47: plot: 'labels' has 1 names but there are 2 points"),
            ("plot([1, 2, 3], kind: \"scatter\")", "1:6: plot: a scatter without y needs [x, y] pairs, but element 0 is 1"),
            ("plot(0..<100000000000)", "1:6: plot: 'data' has 100000000000 values; plot draws at most 2000000"),
            ("plot([1, 2], title: 3)", "1:21: plot: 'title' must be a string, got a number (3)"),
            ("plot([[1, 2], [3, 4]], [1, 2], kind: \"heatmap\")", "1:24: plot: a heatmap takes one matrix (a list of rows), not x and y"),
        ]
        for (source, expected) in cases {
            let got = sandbox.error(source)
            #expect(got == expected, "\(source)")
        }
    }

    @Test("save(plot, \"f.svg\") writes the SVG; other extensions are refused")
    func save() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let interpreter = Interpreter(builtins: Builtins.all)
        let path = folder.appendingPathComponent("nested/loss.svg").path
        #expect(try interpreter.evaluate("p = plot([1, 2, 3])\nsave(p, \(Value.quote(path)))") == .string(path))
        let written = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try interpreter.evaluate("p.svg") == .string(written))
        let error = scriptError { try interpreter.evaluate("save(p, \"out.png\")") }
        #expect(error?.message == "save: a plot is saved as SVG: give a path ending in .svg, got \"out.png\"")
    }

    @Test("plot(run) draws a LoRA's loss and a CAST adapter's loss, kl and mse per step")
    func trainingRuns() throws {
        let source = try TinyModels.model(.llama), target = try TinyModels.model(.qwen2)
        let model = ModelValue(transformer: source, source: "tiny", weights: .preferred, loadSeconds: 0)
        let targetModel = ModelValue(transformer: target, source: "tiny", weights: .preferred, loadSeconds: 0)
        let adapter = try LoRAAdapter(for: source.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj"], layers: nil,
                                                                              baseModel: source.name), seed: 1)
        let lora = LoRAValue(adapter: adapter, model: model, origin: "fresh")
        let cast = CastValue(cast: try CastAdapter(lora: adapter, source: source, target: target), lora: lora, source: model,
                             target: targetModel, variant: "paper", seed: 0, options: CastOptions())
        let interpreter = Interpreter(builtins: Builtins.all)
        interpreter.set("l", .object(lora))
        interpreter.set("c", .object(cast))
        #expect(scriptError { try interpreter.evaluate("plot(l)") }?.message
            == "plot: this adapter has no training steps yet: train or step it first")
        lora.history.loss = [2, 1.5, 1.2]
        cast.history = TrainingHistory(loss: [3, 2, 1.5], kl: [2, 1.4, 1], mse: [1, 0.6, 0.5])
        let l = try #require(try interpreter.evaluate("plot(l)").object as? PlotValue)
        #expect(l.figure.summary == "line plot (1 series, 3 points): lora r2 for tiny-llama")
        let c = try #require(try interpreter.evaluate("plot(c, log_y: true)").object as? PlotValue)
        guard case .line(let chart) = c.figure.chart else { Issue.record("not a line plot"); return }
        #expect(chart.series.map(\.name) == ["loss", "kl", "mse"])
        #expect(chart.series[1].x == [1, 2, 3] && chart.series[1].y == [2, 1.4, 1])
        #expect(chart.logY && c.figure.xLabel == "step")
        #expect(c.text.contains("1 loss") && c.text.contains("3 mse"))
        #expect(scriptError { try interpreter.evaluate("plot(c, kind: \"bar\")") }?.message
            == "plot: a training run plots as a line plot, not \"bar\"")
    }
}
