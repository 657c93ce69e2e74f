import Foundation

/// The heartbeat: a REP socket that echoes every ping, on its own thread, so a client sees
/// the kernel alive while a cell computes.
final class Heartbeat: @unchecked Sendable {
    private let socket: ZMQSocket
    private let stopFlag = StopFlag()
    private var thread: Thread?

    init(socket: ZMQSocket) { self.socket = socket }

    func start() {
        let thread = Thread { [socket, stopFlag] in
            while !stopFlag.isSet {
                // A short wait so a shutdown is noticed promptly.
                guard let frames = socket.receive(timeout: 100) else { continue }
                socket.send(frames)
            }
            socket.close()
        }
        thread.name = "cast-kernel-heartbeat"
        self.thread = thread
        thread.start()
    }

    func stop() { stopFlag.set() }
    var isFinished: Bool { thread?.isFinished ?? true }
}

/// A flag set once from any thread and read by a loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
