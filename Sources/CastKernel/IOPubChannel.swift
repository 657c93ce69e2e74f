import CZMQ
import Foundation

/// The IOPub channel: an XPUB socket owned by its own thread. Any thread publishes by
/// queueing frames and waking the thread through a pipe; the thread also reads
/// subscriptions and greets each new subscriber with `iopub_welcome` (JEP 65), so a client
/// knows when it will stop missing messages.
final class IOPubChannel: MessagePublisher, @unchecked Sendable {
    private let socket: ZMQSocket
    private let codec: WireCodec
    private let session: String
    /// The topic prefix of every message: `kernel.<id>.<msg_type>`.
    private let topicPrefix: String
    private let lock = NSLock()
    private var queue: [[Data]] = []
    private var stopping = false
    private var wake: (read: Int32, write: Int32)
    private var thread: Thread?

    init(socket: ZMQSocket, codec: WireCodec, session: String, kernelID: String) throws {
        self.socket = socket
        self.codec = codec
        self.session = session
        topicPrefix = "kernel.\(kernelID)."
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw KernelError("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        wake = (fds[0], fds[1])
        // Pass every subscription on, duplicates too: each new client gets its welcome.
        try socket.setOption(ZMQ_XPUB_VERBOSE, 1)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "cast-kernel-iopub"
        self.thread = thread
        thread.start()
    }

    /// Publishes `type` with `content`, as a child of `parent` when given.
    func publish(_ type: String, _ content: JSON, parent: WireMessage?, metadata: JSON) {
        var message = WireMessage.make(type, content: content, session: session, parent: parent, metadata: metadata)
        message.identities = [Data((topicPrefix + type).utf8)]
        enqueue(codec.encode(message))
    }

    /// `status: busy` or `idle` for `parent`.
    func status(_ state: String, parent: WireMessage?) {
        publish("status", ["execution_state": .string(state)], parent: parent)
    }

    private func enqueue(_ frames: [Data]) {
        lock.lock()
        guard !stopping else { lock.unlock(); return }
        queue.append(frames)
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// Sends what is queued, then ends the thread.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    var isFinished: Bool { thread?.isFinished ?? true }

    private func run() {
        var items = [zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
                     zmq_pollitem_t(socket: nil, fd: wake.read, events: Int16(ZMQ_POLLIN), revents: 0)]
        var drain = [UInt8](repeating: 0, count: 256)
        while true {
            _ = zmq_poll(&items, 2, 200)
            if items[0].revents & Int16(ZMQ_POLLIN) != 0 {
                while let frames = socket.receiveNow() { welcome(frames) }
            }
            if items[1].revents & Int16(ZMQ_POLLIN) != 0 {
                while read(wake.read, &drain, drain.count) > 0 {}
            }
            lock.lock()
            let pending = queue
            queue.removeAll()
            let done = stopping
            lock.unlock()
            for frames in pending { socket.send(frames) }
            if done { break }
        }
        socket.close()
        close(wake.read)
        close(wake.write)
    }

    /// Answers a subscribe event (`\u{1}` + topic) with `iopub_welcome`.
    private func welcome(_ frames: [Data]) {
        for frame in frames where frame.first == 1 {
            let topic = String(decoding: frame.dropFirst(), as: UTF8.self)
            KernelLog.debug("iopub subscriber for '\(topic)'")
            var message = WireMessage.make("iopub_welcome", content: ["subscription": .string(topic)], session: session)
            message.identities = [Data((topicPrefix + "iopub_welcome").utf8)]
            socket.send(codec.encode(message))
        }
    }
}
