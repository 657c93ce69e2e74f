/// What an experiment needs from whoever runs it: somewhere to write what it is doing, a
/// progress display per long step, and a stop request. The command line draws bars on stderr
/// and stops on Ctrl-C; the language reports to its front end (a bar in the REPL, a live
/// display in a notebook) and stops on an interrupt.
public protocol ExperimentHost: AnyObject {
    /// A line of news (ends in a newline): what was cached, resumed, measured.
    func log(_ text: String)
    /// A progress display for one long step (`unit`: "steps", "examples").
    func progress(_ label: String, unit: String) -> ExperimentProgress
    /// Whether the person asked to stop; polled at step boundaries.
    var shouldStop: Bool { get }
}

/// One long step's progress display.
public protocol ExperimentProgress: AnyObject {
    /// `done` of `total` finished (`since`: where this run started, for the rate); `detail`
    /// is a short line beside the bar (the latest loss).
    func update(done: Int, total: Int, since: Int, detail: String)
    /// The step finished or stopped.
    func finish()
}

extension ExperimentProgress {
    public func update(done: Int, total: Int) { update(done: done, total: total, since: 0, detail: "") }
}

/// A bad setting or task, said in words.
public struct ExperimentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
