import CastScript
import Foundation

/// The progress protocol as one notebook output updated in place: `display_data` with a
/// display id when a task begins, then `update_display_data` at most 10 times a second,
/// and a last update when it ends, so the final numbers always show.
final class KernelProgress: ProgressSink {
    static let minimumInterval = 0.1

    private let iopub: any MessagePublisher
    private let parent: WireMessage
    private let beforeFirstShow: () -> Void
    private var displayID = ""
    private var task = "", unit = ""
    private var started = Date()
    private var lastSent = Date.distantPast
    private var latest: (done: Int, total: Int, detail: String)?
    private var unsent = false
    /// How many update_display_data messages went out (for tests and the log).
    private(set) var updates = 0

    /// - Parameter beforeFirstShow: called before the display appears (the cell flushes a
    ///   pending value, keeping the order of outputs).
    init(iopub: any MessagePublisher, parent: WireMessage, beforeFirstShow: @escaping () -> Void) {
        self.iopub = iopub
        self.parent = parent
        self.beforeFirstShow = beforeFirstShow
    }

    func begin(task: String, unit: String, total: Int) {
        beforeFirstShow()
        self.task = task
        self.unit = unit
        displayID = "cast-progress-" + UUID().uuidString.lowercased()
        started = Date()
        latest = (0, total, "")
        unsent = false
        lastSent = Date()
        iopub.publish("display_data", ["data": JSON(bundle(done: 0, total: total, detail: "")), "metadata": [:],
                                       "transient": ["display_id": .string(displayID)]], parent: parent)
    }

    func report(done: Int, total: Int, detail: String) {
        latest = (done, total, detail)
        unsent = true
        if Date().timeIntervalSince(lastSent) >= Self.minimumInterval { send() }
    }

    func end() {
        if unsent { send() }
        displayID = ""
    }

    private func send() {
        guard let latest, !displayID.isEmpty else { return }
        unsent = false
        lastSent = Date()
        updates += 1
        iopub.publish("update_display_data", ["data": JSON(bundle(done: latest.done, total: latest.total, detail: latest.detail)),
                                              "metadata": [:], "transient": ["display_id": .string(displayID)]], parent: parent)
    }

    /// `text/plain` (a bar of blocks) and `text/html` (a <progress> bar) of the state.
    func bundle(done: Int, total: Int, detail: String) -> MIMEBundle {
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 && total > done ? Double(total - done) / rate : 0
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var numbers = "\(done)/\(total) \(unit), \(String(format: "%.2f", rate))/s"
        numbers += done < total ? ", ETA \(Self.clock(remaining))" : ", \(Self.clock(elapsed))"
        if !detail.isEmpty { numbers += ", " + detail }
        let html = "<div class=\"cast-progress\"><code>\(RenderedTable.escape(task))</code> "
            + "<progress value=\"\(done)\" max=\"\(max(total, 1))\" style=\"width: 16em; vertical-align: middle\"></progress> "
            + "<span>\(RenderedTable.escape(numbers))</span></div>"
        return [MIMEType.plain: "\(task) [\(bar)] \(numbers)", MIMEType.html: html]
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
