import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// `cast run` through the built executable.
@Suite("cast run", .serialized)
struct RunCommandTests {
    static let golden = TestSupport.repository.appendingPathComponent("Tests/CastScriptTests/Golden/quickstart.txt")

    /// examples/quickstart.cast prints what the golden file holds (numbers with a fraction
    /// may differ by 0.01: BLAS kernels differ in the last bits between machines). Weights
    /// load as float32 on every machine (`CAST_PORTABLE_KERNELS=1` makes that the preferred
    /// form), so `info(m)` reads the same with or without AVX-512.
    /// `CAST_UPDATE_GOLDEN=1` rewrites the golden file.
    @Test("examples/quickstart.cast prints the golden output")
    func quickstart() throws {
        let (status, stdout, stderr) = try ScriptTestFiles.runCast(["run", "examples/quickstart.cast", "--quiet"],
                                                                   environment: ["CAST_PORTABLE_KERNELS": "1"])
        #expect(status == 0, "\(stderr)")
        #expect(stderr.isEmpty, "\(stderr)")
        if ProcessInfo.processInfo.environment["CAST_UPDATE_GOLDEN"] == "1" {
            try stdout.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        if let difference = GoldenText.difference(stdout, expected, tolerance: 0.01) {
            Issue.record("quickstart output differs from Golden/quickstart.txt: \(difference)\n--- got:\n\(stdout)")
        }
    }

    /// Not a timing test: the benchmark runs, measures every row and reports the machine.
    @Test("cast bench language measures the call overhead and the REPL's start-up beside python")
    func benchLanguage() throws {
        let (status, stdout, stderr) = try TestSupport.runCast(["bench", "language", "--json"])
        #expect(status == 0, "\(stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        let rows = try #require(report?["rows"] as? [[String: Any]])
        #expect(rows.count == 8)   // each of 3 workloads as a typed line and parsed once, and 2 start-up rows
        for row in rows {
            let value = row["value"] as? Double ?? 0, peer = row["peer_value"] as? Double ?? 0
            #expect(value > 0 && value.isFinite && peer > 0 && peer.isFinite, "\(row)")
        }
        #expect((rows.last?["peer"] as? String)?.hasPrefix("python3 -i") == true)
        #expect((report?["machine"] as? String)?.isEmpty == false)
    }

    @Test("an error prints file:line:column, the line and a caret to stderr and exits 1")
    func errorExit() throws {
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("broken.cast").path
        try "x = 2\nx * 3\ny = lne([x])\nprint(\"not reached\")\n".write(toFile: script, atomically: true, encoding: .utf8)
        let (status, stdout, stderr) = try ScriptTestFiles.runCast(["run", script])
        #expect(status == 1)
        #expect(stdout == "6\n")
        #expect(stderr == "\(script):3:5: error: unknown name 'lne'; did you mean 'len'?\n3 | y = lne([x])\n  |     ^^^\n")

        try "print(1,\n".write(toFile: script, atomically: true, encoding: .utf8)
        let syntax = try ScriptTestFiles.runCast(["run", script])
        #expect(syntax.status == 1)
        #expect(syntax.stdout.isEmpty)
        #expect(syntax.stderr.hasPrefix("\(script):2:1: error: expected ')' to close '(' at 1:6"))
    }

    /// Ctrl-C during generate: the generation stops at the next token and is shown with what
    /// it made; the statements after it do not run; the exit status is 130.
    @Test("Ctrl-C stops a running generate, keeps its tokens and ends the script with 130")
    func interrupt() throws {
        let process = Process()
        process.executableURL = try TestSupport.castExecutable()
        process.arguments = ["run", "-"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data("""
            m = load("smollm2-135m")
            generate(m, "Once upon a time", max_tokens: 8000)
            print("not reached")

            """.utf8))
        try input.fileHandleForWriting.close()
        // The progress bar's first line on stderr says generation has begun.
        var stderr = ""
        while !stderr.contains("generate") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            stderr += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGINT)
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        stderr += String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stdout.contains("stopped: interrupted]"), "\(stdout)")
        #expect(!stdout.contains("not reached"))
        #expect(stderr.contains("<stdin>:3:1: interrupted: stopped here: the statements from this one on did not run"))
    }

    @Test("the strings after -- are the list args; - reads the script from stdin")
    func arguments() throws {
        let (status, stdout, stderr) = try ScriptTestFiles.runCast(["run", "-", "--", "a", "b c", "--x"],
                                                                   input: "args\nlen(args)\nprint(args[1])\n")
        #expect(status == 0, "\(stderr)")
        #expect(stdout == "[\"a\", \"b c\", \"--x\"]\n3\nb c\n")
        let missing = try ScriptTestFiles.runCast(["run", "/no/such/script.cast"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read /no/such/script.cast"))
    }
}

/// Compares program output to a golden text: the same lines and words, numbers with a
/// fraction within a tolerance.
enum GoldenText {
    /// nil when they match, else the first differing line.
    static func difference(_ actual: String, _ expected: String, tolerance: Double) -> String? {
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        guard a.count == e.count else { return "\(a.count) lines, expected \(e.count)" }
        for (i, (x, y)) in zip(a, e).enumerated() where x != y {
            let wx = x.split(separator: " ", omittingEmptySubsequences: true)
            let wy = y.split(separator: " ", omittingEmptySubsequences: true)
            let same = wx.count == wy.count && zip(wx, wy).allSatisfy { p, q in
                if p == q { return true }
                guard p.contains("."), let u = Double(p), let v = Double(q) else { return false }
                return abs(u - v) <= tolerance
            }
            if !same { return "line \(i + 1): \(x) — expected: \(y)" }
        }
        return nil
    }
}
