import Foundation

/// The kernel's log: lines on stderr, which Jupyter shows in its server log. Never the
/// notebook: a dropped message or a protocol slip is for whoever runs the server.
enum KernelLog {
    private static let lock = NSLock()
    /// `CAST_KERNEL_DEBUG=1` also logs every message type received.
    static let verbose = ProcessInfo.processInfo.environment["CAST_KERNEL_DEBUG"] == "1"

    static func info(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data("[cast kernel] \(text)\n".utf8))
    }

    static func debug(_ text: @autoclosure () -> String) {
        if verbose { info(text()) }
    }
}
