import CastTestSupport
import Foundation
import Testing

/// `cast repl` in a real pseudo-terminal, driven by `pty_driver.py` (Python's `pty`): what
/// a person at a terminal types and sees.
@Suite("cast repl in a pseudo-terminal", .serialized)
struct TerminalTests {
    enum Step {
        case send(String)
        case expect(String, timeout: Double = 20)
        case exit(timeout: Double = 20)

        var json: [String: Any] {
            switch self {
            case .send(let text): ["send": text]
            case .expect(let text, let timeout): ["expect": text, "timeout": timeout]
            case .exit(let timeout): ["exit": timeout]
            }
        }
    }

    struct Outcome {
        var failure: String?
        var status: Int?
        var transcript: String
    }

    static let ctrlC = "\u{03}", ctrlD = "\u{04}", up = "\u{1B}[A", tab = "\t"


    /// Runs `cast repl` in a pseudo-terminal through the steps (each waits at most its timeout).
    func drive(_ steps: [Step], history: URL? = nil) throws -> Outcome {
        let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pty_driver.py")
        let historyPath = try history ?? TestSupport.temporaryFolder().appendingPathComponent("history")
        let spec: [String: Any] = ["env": ["CAST_HISTORY": historyPath.path], "steps": steps.map(\.json)]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", driver.path, try TestSupport.castExecutable().path]
        process.currentDirectoryURL = TestSupport.repository
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: spec))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let report = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        let failure = report["failure"] as? [String: Any]
        return Outcome(failure: failure.map { "\($0)" }, status: report["status"] as? Int,
                       transcript: report["transcript"] as? String ?? "")
    }

    @Test("typing an expression shows its value; the banner says how to get help; Ctrl-D exits with 0")
    func typing() throws {
        let outcome = try drive([
            .expect(":help"), .expect("cast> "),
            .send("x = 6 * 7\r"), .expect("cast> "),
            .send("x + 1000\r"), .expect("1042\r\n"),
            .send("[1,\r"), .expect("  ... "), .send("2]\r"), .expect("[1, 2]\r\n"),
            .send(":time\r"), .expect("timing on"), .send("x\r"), .expect("42\r\ntime: "),
            .expect("cast> "), .send(Self.ctrlD), .exit(),
        ])
        #expect(outcome.failure == nil, "\(outcome.failure ?? "")\n\(outcome.transcript)")
        #expect(outcome.status == 0, "\(outcome.transcript)")
    }

    @Test("Tab completes a builtin's name (toke → tokenize)")
    func completion() throws {
        let outcome = try drive([
            .expect("cast> "),
            .send("toke" + Self.tab), .expect("nize"),
            // The builtin's value shows its documentation, which starts with its signature.
            .send("\r"), .expect("tokenize(source"), .expect("cast> "),
            .send(":quit\r"), .exit(),
        ])
        #expect(outcome.failure == nil, "\(outcome.failure ?? "")\n\(outcome.transcript)")
        #expect(outcome.status == 0)
    }

    @Test("the history outlives the session: Up in a second session brings back the first's line")
    func history() throws {
        let file = try TestSupport.temporaryFolder().appendingPathComponent("cast_history")
        let first = try drive([.expect("cast> "), .send("1 + 41\r"), .expect("42\r\n"), .expect("cast> "), .send(Self.ctrlD), .exit()],
                              history: file)
        #expect(first.failure == nil, "\(first.failure ?? "")\n\(first.transcript)")
        #expect(first.status == 0)
        #expect(try String(contentsOf: file, encoding: .utf8).contains("1 + 41"))
        let second = try drive([.expect("cast> "), .send(Self.up), .expect("1 + 41"), .send("\r"), .expect("42\r\n"),
                                .expect("cast> "), .send(Self.ctrlD), .exit()], history: file)
        #expect(second.failure == nil, "\(second.failure ?? "")\n\(second.transcript)")
        #expect(second.status == 0)
    }

    @Test("Ctrl-C drops a half-typed line (and an unfinished input) and never exits")
    func interruptLine() throws {
        let outcome = try drive([
            .expect("cast> "),
            .send("1 + 2"), .send(Self.ctrlC), .expect("^C"), .expect("cast> "),
            .send("[1,\r"), .expect("  ... "), .send(Self.ctrlC), .expect("cast> "),
            .send("5 * 5\r"), .expect("25\r\n"),
            .send(Self.ctrlC), .expect("cast> "), .send(Self.ctrlC), .expect("cast> "),
            .send("40 + 2\r"), .expect("42\r\n"),
            .expect("cast> "), .send(Self.ctrlD), .exit(),
        ])
        #expect(outcome.failure == nil, "\(outcome.failure ?? "")\n\(outcome.transcript)")
        #expect(outcome.status == 0)
        #expect(!outcome.transcript.contains("\r\n3\r\n"))
    }

    @Test("Ctrl-C during a long generate returns to the prompt with every variable intact", .timeLimit(.minutes(3)))
    func interruptBuiltin() throws {
        _ = try TestModels.url("smollm2-135m")
        let outcome = try drive([
            .expect("cast> "),
            // Model names complete inside load("…"), keyword arguments inside a call.
            .send("m = load(\"smol" + Self.tab), .expect("lm2-135m"), .send("\")\r"), .expect("cast> ", timeout: 60),
            .send("x = 6 * 7\r"), .expect("cast> "),
            .send("r = generate(m, \"Once upon a time\", max_t" + Self.tab), .expect("okens: "),
            .send("2000)\r"),
            .expect("/2000 tokens", timeout: 60), .send(Self.ctrlC), .expect("cast> ", timeout: 30),
            .send("x + 1000\r"), .expect("1042\r\n"),
            .send("r\r"), .expect("interrupted"),
            .send("m.tokeni" + Self.tab), .expect("zer"), .send("\r"), .expect("cast> "),
            .send("m\r"), .expect("smollm2"),
            .expect("cast> "), .send(Self.ctrlD), .exit(),
        ])
        #expect(outcome.failure == nil, "\(outcome.failure ?? "")\n\(outcome.transcript)")
        #expect(outcome.status == 0)
    }
}
