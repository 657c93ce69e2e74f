import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// An expression as an s-expression, so tests can state a parse compactly:
/// `1 + 2 * 3` is `(+ 1 (* 2 3))`.
func sexpr(_ e: Expr) -> String {
    switch e.kind {
    case .number(let x): return Value.format(x)
    case .string(let s): return Value.quote(s)
    case .bool(let b): return b ? "true" : "false"
    case .none: return "none"
    case .name(let n): return n
    case .list(let items): return "[" + items.map(sexpr).joined(separator: " ") + "]"
    case .unary(let op, let x): return "(\(op.rawValue) \(sexpr(x)))"
    case .binary(let op, let a, let b): return "(\(op.rawValue) \(sexpr(a)) \(sexpr(b)))"
    case .range(let a, let b, let closed): return "(\(closed ? "..." : "..<") \(sexpr(a)) \(sexpr(b)))"
    case .call(let f, let arguments, _):
        let parts = arguments.map { ($0.label.map { "\($0):" } ?? "") + sexpr($0.value) }
        return "(call \(sexpr(f))" + parts.map { " " + $0 }.joined() + ")"
    case .attribute(let base, let name, _): return "(. \(sexpr(base)) \(name))"
    case .index(let base, let i): return "([] \(sexpr(base)) \(sexpr(i)))"
    }
}

/// Each statement of `source` as an s-expression; assignments as `(= name value)`.
func parsed(_ source: String) throws -> [String] {
    try Parser.parse(source).statements.map { statement in
        switch statement.kind {
        case .assignment(let name, _, let value): "(= \(name) \(sexpr(value)))"
        case .expression(let e): sexpr(e)
        }
    }
}

/// The error `body` throws, which must be a `ScriptError`.
func scriptError(_ body: () throws -> Any) -> ScriptError? {
    do {
        _ = try body()
        return nil
    } catch let error as ScriptError {
        return error
    } catch {
        Issue.record("not a ScriptError: \(error)")
        return nil
    }
}

/// "line:column: message" of the error parsing `source` gives.
func syntaxError(_ source: String) -> String? {
    scriptError { try Parser.parse(source) }.map { "\($0.range.start): \($0.message)" }
}

/// An interpreter with only the builtins that touch no model, printing into a buffer.
final class Sandbox {
    let interpreter = Interpreter(builtins: Builtins.pure)
    var printed = ""

    init() {
        interpreter.output = { [unowned self] in self.printed += $0 }
    }

    /// The value of `source`'s last statement.
    func value(_ source: String) throws -> Value { try interpreter.evaluate(source) }

    /// `text/plain` of `source`'s value.
    func show(_ source: String) throws -> String { try value(source).plainText }

    /// "line:column: message" of the error `source` raises.
    func error(_ source: String) -> String? {
        scriptError { try self.interpreter.evaluate(source) }.map { "\($0.range.start): \($0.message)" }
    }
}

enum ScriptTestFiles {

    /// Runs the built `cast` to the end: exit status, stdout and stderr.
    static func runCast(_ arguments: [String], input: String? = nil,
                        environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try TestSupport.castExecutable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.currentDirectoryURL = TestSupport.repository
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cast-run-\(UUID().uuidString).out")
        let err = out.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let input {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }
}

/// An example script run by `cast run` in a temporary folder (examples write their files to
/// out/ there), its stdout checked against a golden file: numbers with a fraction within 0.01,
/// since BLAS kernels differ in the last bits between machines. `CAST_UPDATE_GOLDEN=1`
/// rewrites the golden file. Returns the folder; the caller removes it.
func runExampleAgainstGolden(_ name: String) throws -> URL {
    let script = TestSupport.repository.appendingPathComponent("examples/\(name).cast")
    let golden = TestSupport.repository.appendingPathComponent("Tests/CastScriptTests/Golden/\(name).txt")
    let folder = try TestSupport.temporaryFolder()
    let (status, stdout, stderr) = try TestSupport.runCast(["run", script.path, "--quiet"],
                                                            environment: ["CAST_PORTABLE_KERNELS": "1"], directory: folder)
    #expect(status == 0, "\(stderr)")
    #expect(stderr.isEmpty, "\(stderr)")
    if ProcessInfo.processInfo.environment["CAST_UPDATE_GOLDEN"] == "1" {
        try stdout.write(to: golden, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: golden, encoding: .utf8)
    if let difference = GoldenText.difference(stdout, expected, tolerance: 0.01) {
        Issue.record("\(name) output differs from Golden/\(name).txt: \(difference)\n--- got:\n\(stdout)")
    }
    return folder
}
