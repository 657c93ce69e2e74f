import Foundation

/// Where long builtins report how far they are. The front end provides it: the REPL and
/// `cast run` draw a bar on stderr, the Jupyter kernel sends `update_display_data`. Calls
/// come from the thread running the interpreter, `begin` first and `end` last.
public protocol ProgressSink: AnyObject {
    /// `task` ("generate", "fetch smollm2-135m") starts; `total` units of `unit` ("tokens").
    func begin(task: String, unit: String, total: Int)
    /// `done` of `total` units finished; `detail` is a short line to show beside the bar
    /// (the latest loss, the text so far).
    func report(done: Int, total: Int, detail: String)
    /// The task finished, was stopped, or failed.
    func end()
}

extension ProgressSink {
    public func begin(task: String, unit: String, total: Int) {}
    public func end() {}
}

/// A stop request shared between a front end and the interpreter: the front end calls
/// `request()` (Ctrl-C, a kernel interrupt, from any thread); long builtins poll
/// `isRequested` at step boundaries and return what they have; the front end calls `reset()`
/// before the next input.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }

    public func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    public func reset() {
        lock.lock()
        requested = false
        lock.unlock()
    }
}
