import CastTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CastScript

/// How front ends show plots: `PlotFolder` (the REPL's per-session folder, `cast run
/// --plots DIR`) saves each SVG as plot-N.svg under the text graphic.
@Suite("Plot display", .serialized)
struct PlotDisplayTests {
    @Test("a plot's text graphic is followed by the path of its saved SVG; other values are shown as they are")
    func plotFolder() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plots = PlotFolder(folder.appendingPathComponent("plots"))
        let sandbox = Sandbox()
        let p = try sandbox.value("plot([1, 3, 2], title: \"loss\")")
        let shown = plots.shown(p)
        let path = folder.appendingPathComponent("plots/plot-1.svg").path
        #expect(shown == p.plainText + "\nsaved " + path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == p.display()[MIMEType.svg])
        #expect(plots.shown(.number(3)) == "3")
        _ = plots.shown(p)
        #expect(plots.count == 2)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("plots/plot-2.svg").path))
    }

    @Test("cast run prints plots as text; --plots DIR also saves each as DIR/plot-N.svg and prints the path")
    func runWithPlots() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("plots.cast").path
        try """
            p = plot([3, 2, 1.5], title: "loss")
            p
            plot([[1, 0.5], [0.5, 1]], labels: ["a", "b"])
            save(p, \(Value.quote(folder.appendingPathComponent("own.svg").path)))
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let plain = try ScriptTestFiles.runCast(["run", script, "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.contains("line plot (1 series, 3 points): loss\n"))
        #expect(plain.stdout.contains("heatmap (2×2)\n"))
        #expect(!plain.stdout.contains("saved "))
        let dir = folder.appendingPathComponent("out").path
        let saved = try ScriptTestFiles.runCast(["run", script, "--quiet", "--plots", dir])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stdout.contains("loss\nsaved \(dir)/plot-1.svg\n"))
        #expect(saved.stdout.contains("heatmap (2×2)\nsaved \(dir)/plot-2.svg\n"))
        for n in 1...2 { _ = try XMLDocument(contentsOf: URL(fileURLWithPath: "\(dir)/plot-\(n).svg"), options: []) }
        _ = try XMLDocument(contentsOf: folder.appendingPathComponent("own.svg"), options: [])
    }
}
