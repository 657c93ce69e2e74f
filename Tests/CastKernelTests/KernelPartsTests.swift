import CastTestSupport
import Foundation
import Testing
@testable import CastKernel

/// The kernel's parts that need no client: connection files, history, kernelspec install.
@Suite("kernel parts: connection file, history, kernelspec")
struct KernelPartsTests {
    @Test("a connection file gives the five endpoints, tcp or ipc")
    func connectionFile() throws {
        let folder = try TestSupport.temporaryFolder()
        let path = folder.appendingPathComponent("kernel-1.json").path
        let text = #"""
            {"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005,
             "ip": "127.0.0.1", "key": "abc", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "cast"}
            """#
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let info = try ConnectionInfo.load(path: path)
        #expect(info.endpoint(info.shellPort) == "tcp://127.0.0.1:5001")
        #expect(info.hbPort == 5005 && info.key == "abc" && info.kernelName == "cast")
        var ipc = info
        ipc.transport = "ipc"
        ipc.ip = "/tmp/kernel-x"
        #expect(ipc.endpoint(7) == "ipc:///tmp/kernel-x-7")
        try #"{"shell_port": 1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: KernelError.self) { try ConnectionInfo.load(path: path) }
        #expect(throws: KernelError.self) { try ConnectionInfo.load(path: folder.appendingPathComponent("absent.json").path) }
    }

    @Test("history persists across kernels: sessions numbered, tail, range, glob search, unique, n")
    func history() throws {
        let path = try TestSupport.temporaryFolder().appendingPathComponent("sub/history.jsonl").path
        let first = HistoryStore(path: path)
        #expect(first.session == 1)
        first.append(line: 1, input: "x = 1", output: nil)
        first.append(line: 2, input: "x + 1", output: "2")
        let second = HistoryStore(path: path)
        #expect(second.session == 2)
        second.append(line: 1, input: "x + 1", output: "2")
        second.append(line: 2, input: "print(x)", output: nil)
        #expect(second.tail(3).map(\.input) == ["x + 1", "x + 1", "print(x)"])
        #expect(second.range(session: 1, start: 2, stop: 3).map(\.input) == ["x + 1"])
        #expect(second.range(session: 0, start: 1, stop: nil).map(\.input) == ["x + 1", "print(x)"])
        #expect(second.search("x ?*", n: nil, unique: false).count == 3)
        #expect(second.search("x ?*", n: nil, unique: true).map(\.input) == ["x = 1", "x + 1"])
        #expect(second.search("*x*", n: 2, unique: false).map(\.input) == ["x + 1", "print(x)"])
        #expect(HistoryStore(path: path).entries.count == 4)
        #expect(HistoryStore.glob("a*c", matches: "abbbc") && !HistoryStore.glob("a*c", matches: "abcd"))
        #expect(HistoryStore(path: nil).tail(5).isEmpty)
    }

    @Test("the next line's indent follows the last line, deeper after an open bracket")
    func indent() {
        #expect(ShellHandlers.indent(after: "print(1,") == "")
        #expect(ShellHandlers.indent(after: "x = [") == "    ")
        #expect(ShellHandlers.indent(after: "f(\n    a,") == "    ")
    }

    @Test("cast kernel install writes kernel.json naming the binary, and the logos of kernelspec/")
    func install() throws {
        let prefix = try TestSupport.temporaryFolder()
        let folder = try KernelSpecInstaller.install(.prefix(prefix.path), name: "cast-test", executable: "/opt/cast/bin/cast")
        #expect(folder.path == prefix.appendingPathComponent("share/jupyter/kernels/cast-test").path)
        let spec = try #require(JSON.parse(Data(contentsOf: folder.appendingPathComponent("kernel.json"))))
        #expect(spec["argv"] == ["/opt/cast/bin/cast", "kernel", "-f", "{connection_file}"])
        #expect(spec["language"] == "cast")
        #expect(spec["interrupt_mode"] == "message")
        let shipped = TestSupport.repository.appendingPathComponent("kernelspec")
        for file in ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"] {
            let installed = try Data(contentsOf: folder.appendingPathComponent(file))
            #expect(installed == (try Data(contentsOf: shipped.appendingPathComponent(file))),
                    "\(file) differs from kernelspec/: regenerate KernelSpecLogos.swift")
        }
        let user = try KernelSpecInstaller.kernelsFolder(.user, environment: ["JUPYTER_DATA_DIR": "/j"])
        #expect(user.path == "/j/kernels")
        #expect(try KernelSpecInstaller.kernelsFolder(.sysPrefix, environment: ["VIRTUAL_ENV": "/v"]).path == "/v/share/jupyter/kernels")
        #expect(throws: KernelError.self) { try KernelSpecInstaller.kernelsFolder(.sysPrefix, environment: [:]) }
        #expect(throws: KernelError.self) { try KernelSpecInstaller.install(.prefix(prefix.path), name: "../x") }
    }
}
