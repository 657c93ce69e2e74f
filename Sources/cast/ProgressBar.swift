import CastExperiment
import Foundation

/// A one-line progress bar on stderr: `label [████····] done/total unit, rate, ETA, extra`.
/// Redrawn in place at most 10 times a second on a terminal; elsewhere (CI logs) one plain
/// line every 10% of the way.
final class ProgressBar: @unchecked Sendable {
    private let label: String, unit: String, enabled: Bool
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let start = Date()
    private var lastDraw = Date.distantPast, lastDecile = -1, drawn = false

    init(label: String, unit: String, enabled: Bool = true) {
        self.label = label
        self.unit = unit
        self.enabled = enabled
    }

    /// `done` of `total` finished; `extra` (e.g. "loss 1.234") is appended.
    func update(done: Int, total: Int, since base: Int = 0, extra: String = "") {
        guard enabled, total > 0 else { return }
        let now = Date(), elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - base) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24, filled = min(width, width * done / total)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ [%@] %d/%d %@, %.2f/s, ETA %@", label, bar, done, total, unit, rate, Self.clock(eta))
            + (extra.isEmpty ? "" : ", " + extra)
        if isTerminal {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
            lastDraw = now
            drawn = true
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            let decile = 10 * done / total
            guard decile != lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the bar's line (on a terminal).
    func finish() {
        if enabled, isTerminal, drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// The command line as an experiment's host: news and bars on stderr, Ctrl-C as the stop.
final class CommandLineHost: ExperimentHost {
    /// Off: no bars (one JSON line per step goes to stdout instead).
    let showsProgress: Bool

    init(showsProgress: Bool = true) { self.showsProgress = showsProgress }

    func log(_ text: String) { writeStandardError(text) }
    func progress(_ label: String, unit: String) -> ExperimentProgress { ProgressBar(label: label, unit: unit, enabled: showsProgress) }
    var shouldStop: Bool { Interrupt.requested }
}

extension ProgressBar: ExperimentProgress {
    func update(done: Int, total: Int, since: Int, detail: String) { update(done: done, total: total, since: since, extra: detail) }
}
