import CastScript
import Foundation

/// A handler's answer: the reply's type and content (nil: the request has no reply, like
/// comm_open, whose answer is a comm_close on IOPub).
struct Reply {
    var type: String
    var content: JSON
}

/// The kernel's logic for shell requests, one table from msg_type to handler (xeus style).
/// Runs on the one thread that owns the interpreter; knows no sockets: outputs go to a
/// `MessagePublisher` (IOPub) and `input` asks an `InputAsker` (the stdin channel).
final class ShellHandlers {
    let interpreter: Interpreter
    let iopub: any MessagePublisher
    let history: HistoryStore
    let cancellation: CancellationFlag
    let stdin: any InputAsker
    var executionCount = 0
    /// Set by an execute_request that failed with stop_on_error: the transport aborts the
    /// execute requests already queued.
    var abortQueued = false
    /// Called with `restart` when a shutdown_request arrives on the shell channel.
    var onShutdown: (Bool) -> Void = { _ in }

    init(interpreter: Interpreter, iopub: any MessagePublisher, history: HistoryStore, cancellation: CancellationFlag,
         stdin: any InputAsker) {
        self.interpreter = interpreter
        self.iopub = iopub
        self.history = history
        self.cancellation = cancellation
        self.stdin = stdin
        interpreter.isCancelled = { [cancellation] in cancellation.isRequested || InterruptSignal.isRaised }
    }

    private lazy var table: [String: (WireMessage) -> Reply?] = [
        "kernel_info_request": { _ in Reply(type: "kernel_info_reply", content: KernelInfo.content) },
        "execute_request": execute,
        "complete_request": complete,
        "inspect_request": inspect,
        "is_complete_request": isComplete,
        "history_request": historyReply,
        "comm_info_request": { _ in Reply(type: "comm_info_reply", content: ["status": "ok", "comms": [:]]) },
        "comm_open": commOpen,
        "comm_msg": { _ in nil },
        "comm_close": { _ in nil },
        "shutdown_request": shutdown,
    ]

    func knows(_ type: String) -> Bool { table[type] != nil }

    func handle(_ request: WireMessage) -> Reply? {
        abortQueued = false
        return table[request.type]?(request)
    }

    /// The reply to an execute_request skipped because an earlier cell failed.
    static func aborted(_ request: WireMessage) -> Reply {
        Reply(type: request.type.replacingOccurrences(of: "_request", with: "_reply"), content: ["status": "aborted"])
    }

    // MARK: introspection

    private func complete(_ request: WireMessage) -> Reply? {
        let code = request.content["code"]?.string ?? ""
        let cursor = request.content["cursor_pos"]?.int ?? code.unicodeScalars.count
        let found = interpreter.completions(in: code, at: cursor)
        let types: [JSON] = found.candidates.map {
            ["start": .int(found.replacing.lowerBound), "end": .int(found.replacing.upperBound), "text": .string($0.text),
             "type": .string($0.kind.rawValue), "signature": .string($0.detail)]
        }
        return Reply(type: "complete_reply", content: [
            "status": "ok", "matches": JSON(found.texts), "cursor_start": .int(found.replacing.lowerBound),
            "cursor_end": .int(found.replacing.upperBound), "metadata": ["_jupyter_types_experimental": .array(types)],
        ])
    }

    private func inspect(_ request: WireMessage) -> Reply? {
        let code = request.content["code"]?.string ?? ""
        let cursor = request.content["cursor_pos"]?.int ?? code.unicodeScalars.count
        guard let text = interpreter.inspect(code, at: cursor) else {
            return Reply(type: "inspect_reply", content: ["status": "ok", "found": false, "data": [:], "metadata": [:]])
        }
        return Reply(type: "inspect_reply", content: ["status": "ok", "found": true, "data": ["text/plain": .string(text)],
                                                      "metadata": [:]])
    }

    private func isComplete(_ request: WireMessage) -> Reply? {
        let code = request.content["code"]?.string ?? ""
        let status = Interpreter.isComplete(code)
        var content: [String: JSON] = ["status": .string(status.rawValue)]
        if status == .incomplete { content["indent"] = .string(Self.indent(after: code)) }
        return Reply(type: "is_complete_reply", content: .object(content))
    }

    /// The next line's indent: the last line's, four spaces deeper after an opening bracket.
    static func indent(after code: String) -> String {
        let last = code.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
        let lead = String(last.prefix { $0 == " " || $0 == "\t" })
        let end = last.trimmingCharacters(in: .whitespaces).last
        return end == "(" || end == "[" ? lead + "    " : lead
    }

    private func historyReply(_ request: WireMessage) -> Reply? {
        let c = request.content
        let withOutput = c["output"]?.bool ?? false
        let entries: [HistoryStore.Entry]
        switch c["hist_access_type"]?.string ?? "tail" {
        case "range":
            entries = history.range(session: c["session"]?.int ?? 0, start: c["start"]?.int ?? 1, stop: c["stop"]?.int)
        case "search":
            entries = history.search(c["pattern"]?.string ?? "*", n: c["n"]?.int, unique: c["unique"]?.bool ?? false)
        default:
            entries = history.tail(c["n"]?.int ?? 10)
        }
        let rows: [JSON] = entries.map { e in
            let output: JSON = e.output.map(JSON.string) ?? .null
            let input: JSON = withOutput ? .array([.string(e.input), output]) : .string(e.input)
            return .array([.int(e.session), .int(e.line), input])
        }
        return Reply(type: "history_reply", content: ["status": "ok", "history": .array(rows)])
    }

    // MARK: comms and shutdown

    /// cast has no comm targets: every comm is closed at once.
    private func commOpen(_ request: WireMessage) -> Reply? {
        let id = request.content["comm_id"]?.string ?? ""
        KernelLog.info("no comm target '\(request.content["target_name"]?.string ?? "")': closing comm \(id)")
        iopub.publish("comm_close", ["comm_id": .string(id), "data": [:]], parent: request)
        return nil
    }

    private func shutdown(_ request: WireMessage) -> Reply? {
        let restart = request.content["restart"]?.bool ?? false
        onShutdown(restart)
        return Reply(type: "shutdown_reply", content: ["status": "ok", "restart": .bool(restart)])
    }
}
