import CastScript
import CastTestSupport
import Foundation
import Testing
@testable import CastKernel

/// The kernel's logic without sockets: handlers publish to a recorder, `input` asks a stub.
@Suite("shell handlers without sockets")
struct ShellHandlersTests {
    final class Recorder: MessagePublisher, InputAsker, @unchecked Sendable {
        var messages: [(type: String, content: JSON, parent: String?)] = []
        var answer = "Ada"

        func publish(_ type: String, _ content: JSON, parent: WireMessage?, metadata: JSON) {
            messages.append((type, content, parent?.id))
        }

        func ask(prompt: String, password: Bool, parent: WireMessage, isCancelled: () -> Bool) throws -> String {
            messages.append(("input_request", ["prompt": .string(prompt)], parent.id))
            return answer
        }

        var types: [String] { messages.map(\.type) }
    }

    func handlers(_ recorder: Recorder, builtins: [Builtin] = Builtins.pure) -> ShellHandlers {
        ShellHandlers(interpreter: Interpreter(builtins: builtins), iopub: recorder, history: HistoryStore(path: nil),
                      cancellation: CancellationFlag(), stdin: recorder)
    }

    func request(_ type: String, _ content: JSON) -> WireMessage {
        WireMessage.make(type, content: content, session: "client")
    }

    @Test("execute: execute_input, outputs in order, execute_result with the count; every message names the request")
    func execute() throws {
        let recorder = Recorder()
        let shell = handlers(recorder)
        let cell = request("execute_request", ["code": "x = 6 * 7\nprint(x)\nx"])
        let reply = try #require(shell.handle(cell))
        #expect(reply.type == "execute_reply")
        #expect(reply.content["status"] == "ok" && reply.content["execution_count"] == 1)
        #expect(recorder.types == ["execute_input", "stream", "execute_result"])
        #expect(recorder.messages.allSatisfy { $0.parent == cell.id })
        #expect(recorder.messages[2].content["data"]?["text/plain"] == "42")
        #expect(shell.history.tail(1).first?.output == "42")
    }

    @Test("an error: error message and reply with ename, evalue, traceback; stop_on_error asks to abort the queue")
    func error() throws {
        let recorder = Recorder()
        let shell = handlers(recorder)
        let reply = try #require(shell.handle(request("execute_request", ["code": "1 +", "stop_on_error": true])))
        #expect(reply.content["status"] == "error" && reply.content["ename"] == "SyntaxError")
        #expect(reply.content["traceback"]?.array?.isEmpty == false)
        #expect(recorder.types == ["execute_input", "error"])
        #expect(shell.abortQueued)
        _ = shell.handle(request("execute_request", ["code": "nope", "stop_on_error": false]))
        #expect(!shell.abortQueued)
    }

    @Test("silent cells publish nothing and leave the count alone")
    func silent() throws {
        let recorder = Recorder()
        let shell = handlers(recorder)
        let reply = try #require(shell.handle(request("execute_request", ["code": "print(1)\n2", "silent": true])))
        #expect(reply.content["status"] == "ok" && reply.content["execution_count"] == 0)
        #expect(recorder.messages.isEmpty)
    }

    @Test("input goes to the asker; allow_stdin false is an error")
    func input() throws {
        let recorder = Recorder()
        let shell = handlers(recorder, builtins: Builtins.all)
        _ = shell.handle(request("execute_request", ["code": "name = input(\"Who? \")"]))
        #expect(recorder.messages.first { $0.type == "input_request" }?.content["prompt"] == "Who? ")
        #expect(shell.interpreter.variables["name"] == .string("Ada"))
        let refused = try #require(shell.handle(request("execute_request", ["code": "input()", "allow_stdin": false])))
        #expect(refused.content["status"] == "error")
    }

    @Test("complete, inspect, is_complete, comm_info, comm_open, history")
    func introspection() throws {
        let recorder = Recorder()
        let shell = handlers(recorder)
        _ = shell.handle(request("execute_request", ["code": "value = 3"]))
        let completion = try #require(shell.handle(request("complete_request", ["code": "x = val", "cursor_pos": 7])))
        #expect(completion.content["matches"] == ["value"])
        #expect(completion.content["cursor_start"] == 4 && completion.content["cursor_end"] == 7)
        let inspection = try #require(shell.handle(request("inspect_request", ["code": "print", "cursor_pos": 5])))
        #expect(inspection.content["found"] == true)
        #expect(inspection.content["data"]?["text/plain"]?.string?.hasPrefix("print(") == true)
        let open = try #require(shell.handle(request("is_complete_request", ["code": "print(1,"])))
        #expect(open.content == ["status": "incomplete", "indent": ""])
        #expect(shell.handle(request("is_complete_request", ["code": "1 +* 2"]))?.content["status"] == "invalid")
        #expect(shell.handle(request("comm_info_request", [:]))?.content["comms"] == [:])
        #expect(shell.handle(request("comm_open", ["comm_id": "c1", "target_name": "w"])) == nil)
        #expect(recorder.messages.last?.type == "comm_close")
        let history = try #require(shell.handle(request("history_request", ["hist_access_type": "tail", "n": 5, "output": true])))
        #expect(history.content["history"] == [[.int(shell.history.session), 1, ["value = 3", .null]]])
    }

    @Test("progress: one display, then at most 10 updates a second, and the final state always sent")
    func progress() throws {
        let recorder = Recorder()
        let cell = request("execute_request", [:])
        var flushed = 0
        let progress = KernelProgress(iopub: recorder, parent: cell, beforeFirstShow: { flushed += 1 })
        progress.begin(task: "train", unit: "steps", total: 1000)
        let start = Date()
        for done in 1...1000 {
            progress.report(done: done, total: 1000, detail: "loss 1.0")
            if done % 100 == 0 { usleep(20_000) }
        }
        progress.end()
        let elapsed = Date().timeIntervalSince(start)
        #expect(flushed == 1)
        #expect(recorder.types.first == "display_data")
        let id = recorder.messages[0].content["transient"]?["display_id"]
        let updates = recorder.messages.dropFirst()
        #expect(updates.allSatisfy { $0.type == "update_display_data" && $0.content["transient"]?["display_id"] == id })
        #expect(Double(updates.count) <= elapsed * 10 + 2, "\(updates.count) updates in \(elapsed) s")
        #expect(updates.last?.content["data"]?["text/plain"]?.string?.contains("1000/1000 steps") == true)
        #expect(updates.last?.content["data"]?["text/html"]?.string?.contains("<progress value=\"1000\"") == true)
    }
}
