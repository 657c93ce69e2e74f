@preconcurrency import CReadline
import Foundation

/// Lines from a terminal through GNU readline: line editing, a history kept in a file
/// (bounded), and tab completion from the session. Readline's callback interface lets
/// Ctrl-C drop the line being typed: readline installs no signal handlers of its own
/// (`rl_catch_signals = 0`); `InterruptSignal` notes the signal, which interrupts the wait
/// for input, and the half-typed line is thrown away.
final class ReadlineReader: LineReader {
    /// Readline's C callbacks reach the reader through these (one reader per process).
    nonisolated(unsafe) private static var received: LineEvent?
    nonisolated(unsafe) private static var session: REPLSession?

    private let historyPath: String?

    /// - Parameters:
    ///   - historyPath: the history file (read now, rewritten after each line); nil keeps none.
    ///   - historyLimit: the most lines the history keeps.
    init(session: REPLSession, historyPath: String?, historyLimit: Int32 = 1000) {
        self.historyPath = historyPath
        Self.session = session
        rl_readline_name = UnsafePointer(strdup("cast"))
        rl_catch_signals = 0
        // Word breaks for readline's notion of the word under the cursor; the session maps
        // the language's completions onto it. Not the quotes: a word that starts at a quote
        // makes readline append that quote after every match.
        rl_completer_word_break_characters = UnsafePointer(strdup(" \t\n()[]{},:;=+-*/%<>!.#"))
        rl_attempted_completion_function = { _, start, _ in ReadlineReader.complete(wordStart: start) }
        using_history()
        stifle_history(historyLimit)
        if let historyPath { _ = read_history(historyPath) }
    }

    func read(prompt: String) -> LineEvent {
        InterruptSignal.reset()
        Self.received = nil
        rl_callback_handler_install(prompt) { line in
            if let line {
                ReadlineReader.received = .line(String(cString: line))
                free(line)
            } else {
                ReadlineReader.received = .endOfInput
            }
            rl_callback_handler_remove()
        }
        while Self.received == nil {
            if InterruptSignal.isRaised {
                // As CPython's readline module does on a signal.
                rl_free_line_state()
                rl_callback_sigcleanup()
                rl_cleanup_after_signal()
                rl_callback_handler_remove()
                FileHandle.standardOutput.write(Data("^C\n".utf8))
                return .interrupted
            }
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                rl_callback_handler_remove()
                return .endOfInput
            }
            rl_callback_read_char()
        }
        if Self.received == .endOfInput { FileHandle.standardOutput.write(Data("\n".utf8)) }
        return Self.received ?? .endOfInput
    }

    func remember(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace) else { return }
        if history_length > 0, let last = history_get(history_base + history_length - 1),
           let text = last.pointee.line, String(cString: text) == line { return }
        add_history(line)
        if let historyPath { _ = write_history(historyPath) }
    }

    /// Readline's completion hook: the session's completions for the line, as texts that
    /// replace readline's word (which starts at byte `wordStart`), in the array readline
    /// wants (their common prefix first, then each; malloc'd; nil-terminated).
    private static func complete(wordStart: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        rl_attempted_completion_over = 1  // never fall back to file names
        rl_completion_suppress_append = 1  // no space after a match ("max_tokens: " has its own)
        rl_completion_suppress_quote = 1  // no closing quote after a model name or path: more may follow
        guard let session, let buffer = rl_line_buffer else { return nil }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: Int(rl_end)).bindMemory(to: UInt8.self)
        func scalars(_ end: Int32) -> Int {
            String(decoding: bytes[0..<max(0, min(Int(end), bytes.count))], as: UTF8.self).unicodeScalars.count
        }
        let line = String(decoding: bytes, as: UTF8.self)
        let matches = session.completions(line: line, cursor: scalars(rl_point), wordStart: scalars(wordStart))
        guard !matches.isEmpty else { return nil }
        let entries = matches.count == 1 ? matches : [commonPrefix(matches)] + matches
        let array = malloc(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * (entries.count + 1))!
            .assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)
        for (i, entry) in entries.enumerated() { array[i] = strdup(entry) }
        array[entries.count] = nil
        return array
    }

    static func commonPrefix(_ texts: [String]) -> String {
        guard var prefix = texts.first.map({ Array($0.unicodeScalars) }) else { return "" }
        for text in texts.dropFirst() {
            let scalars = Array(text.unicodeScalars)
            var n = 0
            while n < prefix.count, n < scalars.count, prefix[n] == scalars[n] { n += 1 }
            prefix = Array(prefix[..<n])
        }
        return String(String.UnicodeScalarView(prefix))
    }
}

/// SIGINT (Ctrl-C) as a flag: the REPL never dies of it. While a line is read, it drops the
/// line; while an input runs, the interpreter polls it (`isCancelled`) and stops the
/// running builtin at its next step, keeping what it made.
enum InterruptSignal {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    static var isRaised: Bool { flag != 0 }

    static func reset() { flag = 0 }

    static func install() {
        flag = 0
        // A parent that spawned us with SIGINT blocked passes the mask on: unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in InterruptSignal.flag = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the wait for input returns EINTR
        sigaction(SIGINT, &action, nil)
    }

    static func uninstall() { signal(SIGINT, SIG_DFL) }
}
