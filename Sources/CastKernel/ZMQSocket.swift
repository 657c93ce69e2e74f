import CZMQ
import Foundation

/// One ZeroMQ context for the kernel's sockets. Terminating it (after every socket is
/// closed) ends libzmq's I/O threads.
final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init() throws {
        guard let handle = zmq_ctx_new() else { throw ZMQSocket.lastError("zmq_ctx_new") }
        self.handle = handle
    }

    func terminate() { zmq_ctx_term(handle) }
}

/// A ZeroMQ socket used by one thread at a time (libzmq sockets are not thread-safe; each
/// of ours belongs to one loop). Linger is 0, so closing never waits for unsent messages to
/// a client that went away. The `zmq_msg_t` for receiving lives at one fixed address for
/// the socket's life, since libzmq may keep pointers into it.
final class ZMQSocket: @unchecked Sendable {
    enum Kind {
        case router, pub, xpub, rep
        var raw: Int32 {
            switch self {
            case .router: ZMQ_ROUTER
            case .pub: ZMQ_PUB
            case .xpub: ZMQ_XPUB
            case .rep: ZMQ_REP
            }
        }
    }

    let handle: UnsafeMutableRawPointer
    private let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
    private var closed = false

    init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let handle = zmq_socket(context.handle, kind.raw) else { throw Self.lastError("zmq_socket") }
        self.handle = handle
        try setOption(ZMQ_LINGER, 0)
    }

    deinit {
        close()
        message.deallocate()
    }

    func setOption(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw Self.lastError("zmq_setsockopt(\(option))")
        }
    }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw Self.lastError("bind \(endpoint)") }
    }

    /// Sends all frames as one multipart message; false when libzmq refused (e.g. the
    /// context is ending). Never blocks on a slow or vanished peer: ROUTER and PUB drop.
    @discardableResult
    func send(_ frames: [Data]) -> Bool {
        for (i, frame) in frames.enumerated() {
            let flags = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            let sent = frame.withUnsafeBytes { bytes in
                zmq_send(handle, bytes.baseAddress, bytes.count, flags)
            }
            if sent < 0 { return false }
        }
        return true
    }

    /// Waits up to `timeout` milliseconds (-1: for ever) for a message; nil when none came.
    func receive(timeout: Int) -> [Data]? {
        guard wait(timeout: timeout) else { return nil }
        return receiveNow()
    }

    /// Whether a message is waiting, after up to `timeout` ms.
    func wait(timeout: Int) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        return zmq_poll(&item, 1, timeout) > 0 && item.revents & Int16(ZMQ_POLLIN) != 0
    }

    /// All frames of the next message, without waiting; nil when none is there.
    func receiveNow() -> [Data]? {
        var frames: [Data] = []
        while true {
            zmq_msg_init(message)
            defer { zmq_msg_close(message) }
            let flags = frames.isEmpty ? ZMQ_DONTWAIT : 0
            guard zmq_msg_recv(message, handle, flags) >= 0 else { return frames.isEmpty ? nil : frames }
            let size = zmq_msg_size(message)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(message), count: size))
            if zmq_msg_more(message) == 0 { return frames }
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    static func lastError(_ what: String) -> KernelError {
        KernelError("\(what): \(String(cString: zmq_strerror(zmq_errno())))")
    }
}
