import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// The analysis commands end to end through the built `cast`: outputs in the documented
/// JSON forms, files numpy can read, and errors that say what would work.
@Suite struct AnalysisCommandTests {
    let text = "The river rises in the northern hills and flows south through farmland, two market towns and a wide estuary before it reaches the sea."

    func json(_ arguments: [String]) throws -> Any {
        let r = try TestSupport.runCast(arguments)
        #expect(r.status == 0, "cast \(arguments.joined(separator: " ")): \(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    @Test func pointsListsEveryPointWithItsWidth() throws {
        let out = try #require(try json(["points", "-m", "smollm2-135m", "--json"]) as? [String: Any])
        let points = try #require(out["points"] as? [[String: Any]])
        #expect(points.count == 30 * 23 + 1)
        #expect(points.contains { $0["name"] as? String == "blocks.29.mlp.hook_post" && $0["width"] as? Int == 1536 })
        let text = try TestSupport.runCast(["points", "-m", "smollm2-135m"])
        #expect(text.stdout.contains("blocks.{0..29}.hook_resid_pre"))
    }

    @Test func activationsWriteOneTensorPerPoint() throws {
        let folder = try TestSupport.temporaryFolder()
        let file = folder.appendingPathComponent("a.safetensors").path
        let out = try #require(try json(["activations", "-m", "smollm2-135m", "--text", text, "--points", "hook_resid_post,attn.hook_z",
                                         "--layers", "0,29", "--out", file, "--json"]) as? [String: Any])
        let tokens = try #require(out["tokens"] as? Int)
        let read = try SafetensorsFile(path: file)
        #expect(Set(read.names) == ["blocks.0.hook_resid_post", "blocks.29.hook_resid_post", "blocks.0.attn.hook_z", "blocks.29.attn.hook_z"])
        #expect(try read.info("blocks.29.hook_resid_post").shape == [tokens, 576])
        let npy = folder.appendingPathComponent("z.npy").path
        _ = try json(["activations", "-m", "smollm2-135m", "--text", text, "--points", "blocks.3.attn.hook_z", "--out", npy, "--json"])
        #expect(FileManager.default.fileExists(atPath: npy))
    }

    @Test func pcaPrintsTheDocumentedJSON() throws {
        let folder = try TestSupport.temporaryFolder()
        let svg = folder.appendingPathComponent("p.svg").path
        let out = try #require(try json(["pca", "-m", "smollm2-135m", "--text", text, "--positions", "skip-first",
                                         "--point", "blocks.15.hook_resid_post", "--components", "4", "--json", "--plot", svg]) as? [String: Any])
        #expect(out["point"] as? String == "blocks.15.hook_resid_post")
        let ratios = try #require(out["explained_variance_ratio"] as? [Double])
        #expect(ratios.count == 4 && ratios.reduce(0, +) <= 1)
        #expect((out["explained_variance"] as? [Double])?.count == 4)
        #expect((out["participation_ratio"] as? Double ?? 0) >= 1)
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
        // Several layers in one PCA, drawn by layer.
        let joint = try #require(try json(["pca", "-m", "smollm2-135m", "--text", text, "--positions", "skip-first",
                                           "--point", "hook_resid_post", "--layers", "3,9", "--joint", "--components", "3",
                                           "--json", "--plot", svg]) as? [String: Any])
        #expect(joint["point"] as? String == "joint")
        #expect(joint["tokens"] as? Int == 2 * (out["tokens"] as? Int ?? 0))
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("L9"))
    }

    @Test func ckaPrintsMatrixBaselineAndLayerMap() throws {
        let folder = try TestSupport.temporaryFolder()
        let svg = folder.appendingPathComponent("c.svg").path
        let out = try #require(try json(["cka", "-m", "smollm2-135m", "--model-b", "smollm2-135m", "--text", text,
                                         "--positions", "skip-first", "--layers", "2,10,20", "--json", "--plot", svg,
                                         "--neighbors", "3"]) as? [String: Any])
        let cka = try #require(out["cka"] as? [[Double]])
        #expect(cka.count == 3 && cka.allSatisfy { $0.count == 3 })
        for i in 0..<3 { #expect(abs(cka[i][i] - 1) <= 1e-4) }
        #expect((out["baseline"] as? [[Double]])?.count == 3)
        #expect((out["mutual_knn"] as? [[Double]])?.count == 3)
        // A model against itself: each layer maps to itself.
        #expect(out["layer_map"] as? String == "2:2,10:10,20:20")
        #expect(FileManager.default.fileExists(atPath: svg))
    }

    /// Linear CKA from statistics (JSON says so) equals the rows' CKA on the same tokens, in
    /// one pass or in several under a small memory budget; the baseline stays the rows'.
    @Test func ckaFromStatisticsMatchesRows() throws {
        let common = ["cka", "-m", "smollm2-135m", "--model-b", "qwen2.5-0.5b", "--text", text, "--positions", "skip-first",
                      "--layers", "2,20", "--layers-b", "3,12", "--json"]
        let rows = try #require(try json(common) as? [String: Any])
        let streamed = try #require(try json(common + ["--statistics"]) as? [String: Any])
        let blocked = try #require(try json(common + ["--statistics", "--statistics-memory", "8"]) as? [String: Any])
        #expect(rows["path"] as? String == "rows" && streamed["path"] as? String == "statistics")
        #expect(streamed["tokens"] as? Int == rows["tokens"] as? Int && streamed["baseline_tokens"] as? Int == rows["tokens"] as? Int)
        #expect(streamed["passes"] as? Int == 1 && (blocked["passes"] as? Int ?? 0) > 1)
        let a = try #require(rows["cka"] as? [[Double]]), b = try #require(streamed["cka"] as? [[Double]])
        let c = try #require(blocked["cka"] as? [[Double]])
        for i in 0..<2 {
            for j in 0..<2 {
                #expect(abs(a[i][j] - b[i][j]) <= 1e-5 * a[i][j], "[\(i), \(j)]: rows \(a[i][j]), statistics \(b[i][j])")
                #expect(abs(b[i][j] - c[i][j]) <= 1e-12)
            }
        }
        #expect((rows["baseline"] as? [[Double]]) == (streamed["baseline"] as? [[Double]]))
        let rbf = try TestSupport.runCast(common + ["--statistics", "--kernel", "rbf"])
        #expect(rbf.status != 0 && rbf.stderr.contains("linear"), "\(rbf.stderr)")
    }

    /// Two models' tokens on one PC scatter, coloured by model; widths that differ need a CAST adapter.
    @Test func pcaDrawsTwoModelsColouredByModel() throws {
        let svg = try TestSupport.temporaryFolder().appendingPathComponent("two.svg").path
        let out = try #require(try json(["pca", "-m", "smollm2-135m", "--model-b", "smollm2-135m", "--text", text,
                                         "--positions", "skip-first", "--point", "blocks.6.hook_resid_post", "--json",
                                         "--plot", svg]) as? [String: Any])
        let tokens = try #require(out["tokens"] as? Int)
        let drawn = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(drawn.contains(">smollm2-135m<") && drawn.contains(">smollm2-135m (B)<"))
        #expect(drawn.components(separatedBy: "class=\"point\"").count - 1 == 2 * tokens)
        let wide = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--model-b", "qwen2.5-0.5b", "--text", text,
                                            "--point", "blocks.6.hook_resid_post", "--plot", svg])
        #expect(wide.status != 0 && wide.stderr.contains("--cast-adapter"), "\(wide.stderr)")
    }

    /// --generate reads prompt + generation as the generation computes them: the answer
    /// positions are the generated tokens, the same rows as the tail of the whole capture.
    @Test func activationsDuringGeneration() throws {
        let folder = try TestSupport.temporaryFolder()
        let prompt = "The capital of France is"
        func capture(_ extra: [String], _ name: String) throws -> (tokens: Int, rows: Tensor) {
            let file = folder.appendingPathComponent(name).path
            let out = try #require(try json(["activations", "-m", "smollm2-135m", "--text", prompt, "--generate", "5", "--points",
                                             "hook_resid_post", "--layers", "7", "--out", file, "--json"] + extra) as? [String: Any])
            return (try #require(out["tokens"] as? Int), try SafetensorsFile(path: file).tensor("blocks.7.hook_resid_post"))
        }
        let answer = try capture(["--positions", "answer"], "answer.safetensors")
        let all = try capture([], "all.safetensors")
        let promptTokens = try TestModels.tokenizer("smollm2-135m").encode(prompt, addSpecial: true, parseSpecial: false).count
        #expect(answer.tokens == 5 && all.tokens == promptTokens + 5)
        let tail = Array(all.rows.scalars.suffix(answer.rows.count))
        #expect(zip(tail, answer.rows.scalars).map { abs($0 - $1) }.max()! <= 1e-3)
        let both = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--model-b", "smollm2-135m", "--text", prompt, "--generate", "3",
                                            "--point", "blocks.6.hook_resid_post", "--plot", folder.appendingPathComponent("x.svg").path])
        #expect(both.status != 0 && both.stderr.contains("--generate reads one model"), "\(both.stderr)")
    }

    @Test func badInputSaysWhatWouldWork() throws {
        let typo = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--text", text, "--point", "blocks.3.hook_resid_pots"])
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("Did you mean hook_resid_post"), "\(typo.stderr)")
        let layer = try TestSupport.runCast(["activations", "-m", "smollm2-135m", "--text", text, "--layers", "31", "--out", "/tmp/unused.safetensors"])
        #expect(layer.stderr.contains("no layer 31") && layer.stderr.contains("0...29"), "\(layer.stderr)")
        let few = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--text", "Hi there", "--point", "blocks.1.hook_resid_post", "--components", "5"])
        #expect(few.stderr.contains("at least 6 tokens"), "\(few.stderr)")
        let empty = try TestSupport.runCast(["pca", "-m", "smollm2-135m", "--text", "", "--point", "blocks.1.hook_resid_post"])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("empty"), "\(empty.stderr)")
        #expect(!empty.stdout.lowercased().contains("nan"))
    }
}
