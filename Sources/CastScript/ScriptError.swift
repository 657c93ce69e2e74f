/// An error in a script, located in its source: a syntax error, an unknown name, a wrong
/// argument, or an engine error wrapped with the call that raised it. The interpreter keeps
/// its variables when one is thrown, so a session goes on after it.
public struct ScriptError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The text does not parse (the lexer or the parser).
        case syntax
        /// A name, attribute or keyword argument that does not exist.
        case name
        /// A value of the wrong type for an operator or a parameter.
        case type
        /// A value of the right type that is out of range or otherwise unusable.
        case value
        /// The engine (loading, tokenizing, generating…) failed.
        case engine
        /// The front end asked to stop (Ctrl-C); statements after the stop did not run.
        case interrupted
    }

    public var kind: Kind
    public var message: String
    public var range: SourceRange
    /// The text the error is located in, and its file name, once the interpreter attached them.
    public var source: String?
    public var file: String?

    public init(_ kind: Kind, _ message: String, at range: SourceRange) {
        self.kind = kind
        self.message = message
        self.range = range
    }

    /// "1:5: expected ')' …" (no source line; see `rendered()`).
    public var description: String { "\(range.start): \(message)" }

    /// The error as a compiler prints it: `file:line:column: error: message`, then the source
    /// line and a caret under the span (the span's first line only).
    public func rendered() -> String {
        let prefix = file.map { "\($0):" } ?? ""
        let label = kind == .interrupted ? "interrupted" : "error"
        var text = "\(prefix)\(range.start.line):\(range.start.column): \(label): \(message)"
        guard let source else { return text }
        let lines = SourceLines(source)
        guard let line = lines.line(range.start.line) else { return text }
        let number = String(range.start.line)
        let gutter = String(repeating: " ", count: number.count)
        // Tabs stay tabs under the caret, so it lines up however the terminal draws them.
        let lead = line.prefix(max(0, range.start.column - 1)).map { $0 == "\t" ? "\t" : " " }.joined()
        let available = max(1, line.count - (range.start.column - 1))
        let width = range.end.line == range.start.line
            ? max(1, min(range.end.column - range.start.column, available)) : available
        text += "\n\(number) | \(String(String.UnicodeScalarView(line)))"
        text += "\n\(gutter) | \(lead)\(String(repeating: "^", count: width))"
        return text
    }

    /// This error with its source text and file name attached (kept if already set).
    func locatedIn(_ source: String, file: String?) -> ScriptError {
        var copy = self
        if copy.source == nil {
            copy.source = source
            copy.file = file
        }
        return copy
    }
}

/// A source text split into lines of Unicode scalars (a "\r" before "\n" dropped).
struct SourceLines {
    private let lines: [[Unicode.Scalar]]

    init(_ source: String) {
        var lines: [[Unicode.Scalar]] = [[]]
        for scalar in source.unicodeScalars {
            if scalar == "\n" {
                if lines[lines.count - 1].last == "\r" { lines[lines.count - 1].removeLast() }
                lines.append([])
            } else {
                lines[lines.count - 1].append(scalar)
            }
        }
        self.lines = lines
    }

    /// Line `number` (1-based), nil past the end.
    func line(_ number: Int) -> [Unicode.Scalar]? {
        number >= 1 && number <= lines.count ? lines[number - 1] : nil
    }
}
