import CastScript
import Foundation

/// Everything one cell shows, published on IOPub as the child of its execute_request, in
/// the order it happened: stdout/stderr streams (sent as they are written, so a long
/// cell's prints appear while it runs; big texts in slices), display_data, clear_output,
/// and the value that becomes the cell's execute_result. A value stays pending until
/// something else is shown: then it was not the cell's last output and goes out as
/// display_data; at the end it is the execute_result.
final class CellOutput {
    /// Stream text goes out in slices of at most this many bytes, so one huge print does
    /// not become one huge message.
    static let streamSlice = 256 * 1024

    private let iopub: any MessagePublisher
    private let parent: WireMessage
    /// Silent cells show nothing.
    private let silent: Bool
    private var pending: Value?
    /// text/plain of the execute_result, for history.
    private(set) var resultText: String?

    init(iopub: any MessagePublisher, parent: WireMessage, silent: Bool) {
        self.iopub = iopub
        self.parent = parent
        self.silent = silent
    }

    func stream(_ name: String, _ text: String) {
        guard !silent, !text.isEmpty else { return }
        flushPending()
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            var end = min(start + Self.streamSlice, bytes.count)
            // Cut between characters: never before a UTF-8 continuation byte.
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end -= 1 }
            let slice = String(decoding: bytes[start..<end], as: UTF8.self)
            iopub.publish("stream", ["name": .string(name), "text": .string(slice)], parent: parent)
            start = end
        }
    }

    /// A value shown by an expression statement: held until we know whether it is the last.
    func show(_ value: Value) {
        flushPending()
        pending = value
    }

    /// A value shown now, by `display(…)`.
    func display(_ value: Value) {
        guard !silent else { return }
        flushPending()
        iopub.publish("display_data", ["data": JSON(value.display()), "metadata": [:], "transient": [:]], parent: parent)
    }

    func clear(wait: Bool) {
        guard !silent else { return }
        flushPending()
        iopub.publish("clear_output", ["wait": .bool(wait)], parent: parent)
    }

    /// Something else (a progress display) is about to be shown.
    func flushPending() {
        guard let value = pending else { return }
        pending = nil
        if !silent { display(value) }
    }

    /// Ends the cell: the pending value becomes its execute_result.
    func finish(executionCount: Int) {
        guard let value = pending else { return }
        pending = nil
        let bundle = value.display()
        resultText = bundle[MIMEType.plain]
        guard !silent else { return }
        iopub.publish("execute_result", ["execution_count": .int(executionCount), "data": JSON(bundle), "metadata": [:]],
                      parent: parent)
    }
}
