import CastScript
import CZMQ
import Foundation

/// The Jupyter kernel's transport: binds the five sockets of a connection file, serves the
/// heartbeat, IOPub and control channels on their own threads and the shell channel on the
/// calling thread, which also runs the cells (one interpreter, one thread). Every request
/// is wrapped in IOPub `busy` … `idle`; every reply is made from its request.
public final class Kernel: @unchecked Sendable {
    private let info: ConnectionInfo
    private let codec: WireCodec
    /// This kernel process's session id (the `session` of every message it sends).
    private let session = UUID().uuidString.lowercased()
    private let context: ZMQContext
    private let shell: ZMQSocket, control: ZMQSocket
    private let iopub: IOPubChannel
    private let heartbeat: Heartbeat
    private let handlers: ShellHandlers
    private let cancellation = CancellationFlag()
    private let stopping = StopFlag()
    private let shellDone = DispatchSemaphore(value: 0)
    /// How long after a failed cell newly arriving execute requests are still aborted.
    static let abortWindow = 0.1
    private var controlThread: Thread?
    /// When the latest shell reply went out (just before): no request made earlier can be an
    /// answer to it.
    private var lastShellReply = Date.distantPast

    public init(connectionFile: String, interpreter: Interpreter = Interpreter()) throws {
        info = try ConnectionInfo.load(path: connectionFile)
        codec = WireCodec(key: info.key)
        context = try ZMQContext()
        shell = try ZMQSocket(context, .router)
        control = try ZMQSocket(context, .router)
        let stdinSocket = try ZMQSocket(context, .router)
        let iopubSocket = try ZMQSocket(context, .xpub)
        let hbSocket = try ZMQSocket(context, .rep)
        // A client that reconnects under the same identity takes its routes over.
        for socket in [shell, control, stdinSocket] { try socket.setOption(ZMQ_ROUTER_HANDOVER, 1) }
        try shell.bind(info.endpoint(info.shellPort))
        try control.bind(info.endpoint(info.controlPort))
        try stdinSocket.bind(info.endpoint(info.stdinPort))
        try iopubSocket.bind(info.endpoint(info.iopubPort))
        try hbSocket.bind(info.endpoint(info.hbPort))
        let kernelID = info.kernelName ?? URL(fileURLWithPath: connectionFile).deletingPathExtension().lastPathComponent
        iopub = try IOPubChannel(socket: iopubSocket, codec: codec, session: session, kernelID: kernelID)
        heartbeat = Heartbeat(socket: hbSocket)
        let stdin = StdinChannel(socket: stdinSocket, codec: codec, session: session)
        let history = HistoryStore(path: HistoryStore.defaultPath())
        handlers = ShellHandlers(interpreter: interpreter, iopub: iopub, history: history, cancellation: cancellation,
                                 stdin: stdin)
        handlers.onShutdown = { [stopping] _ in stopping.set() }
        if !codec.signer.isSigning { KernelLog.info("the connection file has no key: messages are not signed") }
    }

    /// Serves until a shutdown_request; returns when the kernel has stopped.
    public func run() {
        InterruptSignal.install()
        ParentWatcher.start()
        iopub.start()
        heartbeat.start()
        let controlThread = Thread { [self] in serveControl() }
        controlThread.name = "cast-kernel-control"
        self.controlThread = controlThread
        controlThread.start()
        KernelLog.info("ready: \(info.transport) on \(info.ip), shell \(info.shellPort), session \(session)")
        serveShell()
        shellDone.signal()
        finish()
    }

    private func serveShell() {
        while !stopping.isSet {
            guard let frames = shell.receive(timeout: 100) else { continue }
            var next = decode(frames, channel: "shell")
            while let request = next {
                dispatch(request, on: shell) { handlers.handle($0) }
                next = handlers.abortQueued ? abortQueuedCells() : nil
            }
        }
    }

    /// After a failed cell with stop_on_error, the cells queued behind it do not run. "Run
    /// all" sends its cells in one burst, so some may still be on the wire: for a short
    /// window, an execute request is aborted when its header's date says it was made before
    /// the client could have seen our latest reply (queued, not sent in answer to the error).
    /// Returns the first request that is not aborted, to be handled as usual.
    private func abortQueuedCells() -> WireMessage? {
        let deadline = Date().addingTimeInterval(Self.abortWindow)
        while let frames = shell.receive(timeout: max(0, Int(deadline.timeIntervalSinceNow * 1000))) {
            guard let queued = decode(frames, channel: "shell") else { continue }
            let sent = queued.header["date"]?.string.flatMap(MessageDate.parse) ?? .distantPast
            guard queued.type == "execute_request", sent <= lastShellReply else { return queued }
            dispatch(queued, on: shell) { ShellHandlers.aborted($0) }
        }
        return nil
    }

    /// Control requests, read even while a cell runs: interrupt, shutdown, kernel_info.
    private func serveControl() {
        while !stopping.isSet {
            guard let frames = control.receive(timeout: 100) else { continue }
            guard let request = decode(frames, channel: "control") else { continue }
            dispatch(request, on: control) { [self] request in
                switch request.type {
                case "interrupt_request":
                    KernelLog.info("interrupt requested")
                    cancellation.request()
                    return Reply(type: "interrupt_reply", content: ["status": "ok"])
                case "shutdown_request":
                    let restart = request.content["restart"]?.bool ?? false
                    return Reply(type: "shutdown_reply", content: ["status": "ok", "restart": .bool(restart)])
                case "kernel_info_request":
                    return Reply(type: "kernel_info_reply", content: KernelInfo.content)
                default:
                    KernelLog.info("no handler for \(request.type) on control")
                    return nil
                }
            }
            if request.type == "shutdown_request" { beginShutdown() }
        }
        control.close()
    }

    /// Stops the running cell at its next step boundary and ends the shell loop; if the
    /// cell does not stop within 3 s, ends the process anyway.
    private func beginShutdown() {
        KernelLog.info("shutting down")
        stopping.set()
        cancellation.request()
        if shellDone.wait(timeout: .now() + 3) == .timedOut {
            KernelLog.info("the running cell did not stop within 3 s: exiting")
            finish()
            exit(0)
        }
        shellDone.signal()
    }

    private func decode(_ frames: [Data], channel: String) -> WireMessage? {
        switch codec.decode(frames) {
        case .success(let message):
            KernelLog.debug("\(channel): \(message.type) \(message.id)")
            return message
        case .failure(let error):
            KernelLog.info("dropped a message on \(channel): \(error)")
            return nil
        }
    }

    private func dispatch(_ request: WireMessage, on socket: ZMQSocket, _ handle: (WireMessage) -> Reply?) {
        iopub.status("busy", parent: request)
        if let reply = handle(request) {
            if socket === shell { lastShellReply = Date() }
            socket.send(codec.encode(request.reply(reply.type, content: reply.content, session: session)))
        } else if !handlers.knows(request.type) {
            KernelLog.info("no handler for \(request.type)")
        }
        iopub.status("idle", parent: request)
    }

    /// Stops the helper threads, letting IOPub send what is queued (at most ~1 s).
    private func finish() {
        heartbeat.stop()
        iopub.stop()
        let deadline = Date().addingTimeInterval(1)
        while (!iopub.isFinished || !heartbeat.isFinished) && Date() < deadline { usleep(5_000) }
    }
}
