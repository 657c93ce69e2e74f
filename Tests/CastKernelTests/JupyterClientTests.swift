import CastTestSupport
import Foundation
import Testing

/// The kernel as Jupyter's own tools see it: the Python tests in `python/` (the
/// jupyter_kernel_test conformance suite, our jupyter_client behaviour tests, the notebooks of
/// notebooks/ run by nbconvert and papermill, and the papermill translator) run with pytest
/// from `.venv-jupyter` against the built `cast`. `make test` creates the venv
/// (scripts/jupyter-venv.sh); without it these tests are skipped, saying so.
@Suite("the Jupyter kernel through jupyter_client", .serialized)
struct JupyterClientTests {
    static let python = TestSupport.repository.appendingPathComponent(".venv-jupyter/bin/python")
    static let venvPresent = FileManager.default.isExecutableFile(atPath: python.path)

    /// Runs pytest on one file of python/; returns its exit status and output.
    func pytest(_ file: String) throws -> (status: Int32, output: String) {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python")
        let process = Process()
        process.executableURL = Self.python
        process.arguments = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", folder.appendingPathComponent(file).path]
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["CAST_EXECUTABLE"] = try TestSupport.castExecutable().path
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("jupyter_kernel_test: every optional sample filled, all pass",
          .enabled(if: venvPresent, "no .venv-jupyter: run scripts/jupyter-venv.sh (make test does) to run the Jupyter tests"))
    func conformance() throws {
        let run = try pytest("test_conformance.py")
        #expect(run.status == 0, "\(run.output)")
    }

    @Test("jupyter_client: interrupts, bad signatures, restart, 200 executes, 10 MB output, heartbeat, disconnects, input",
          .enabled(if: venvPresent, "no .venv-jupyter: run scripts/jupyter-venv.sh (make test does) to run the Jupyter tests"))
    func behaviour() throws {
        let run = try pytest("test_behaviour.py")
        #expect(run.status == 0, "\(run.output)")
    }

    @Test("notebooks/: committed with outputs; cast_transfer runs under nbconvert --execute, quickstart under papermill -p",
          .enabled(if: venvPresent, "no .venv-jupyter: run scripts/jupyter-venv.sh (make test does) to run the Jupyter tests"))
    func notebooks() throws {
        let run = try pytest("test_notebooks.py")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("passed") && !run.output.contains("skipped"), "\(run.output)")
    }

    @Test("papermill translator: every value type, the language's escapes, refused values, a round trip through cast run",
          .enabled(if: venvPresent, "no .venv-jupyter: run scripts/jupyter-venv.sh (make test does) to run the Jupyter tests"))
    func papermillTranslator() throws {
        let run = try pytest("test_papermill_translator.py")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("passed") && !run.output.contains("skipped"), "\(run.output)")
    }

    @Test("cast bench kernel's client: both kernels started, every request timed, JSON for the Swift side",
          .enabled(if: venvPresent, "no .venv-jupyter: run scripts/jupyter-venv.sh (make test does) to run the Jupyter tests"))
    func benchClient() throws {
        let run = try pytest("test_bench_client.py")
        #expect(run.status == 0, "\(run.output)")
    }
}
