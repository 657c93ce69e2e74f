/// What reading one line of input gave: the line, a Ctrl-C while it was being typed, or the
/// end of input (Ctrl-D on an empty line, or a closed stdin).
public enum LineEvent: Equatable, Sendable {
    case line(String)
    case interrupted
    case endOfInput
}

/// The transport a REPL reads from: readline on a terminal, plain lines otherwise, a list
/// of events in tests. It knows nothing of the language; `REPLSession` does.
public protocol LineReader: AnyObject {
    /// Shows `prompt` (where the transport has prompts) and waits for the next event.
    func read(prompt: String) -> LineEvent
    /// A line the user entered, for the history (a transport without one ignores it).
    func remember(_ line: String)
}

extension LineReader {
    public func remember(_ line: String) {}
}

/// Lines from stdin with no editing, prompts or history (`cast repl < file`).
public final class PlainLineReader: LineReader {
    public init() {}

    public func read(prompt: String) -> LineEvent {
        readLine(strippingNewline: true).map(LineEvent.line) ?? .endOfInput
    }
}

/// The input loop: read an event, let the session handle it, until the session says stop.
/// No terminal involved, so tests drive it with a scripted reader.
public enum InputLoop {
    public static func run(_ session: REPLSession, reader: LineReader) {
        while true {
            let event = reader.read(prompt: session.prompt)
            if case .line(let line) = event { reader.remember(line) }
            if session.handle(event) == .quit { return }
        }
    }
}
