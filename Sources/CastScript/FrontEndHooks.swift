import Foundation

/// What a front end does for the builtins that talk to the person at it: `input` asks for a
/// line, `display` shows a value now, `warn` writes to the error output, `clear_output`
/// clears what the cell showed, `page` opens the pager. Each hook left nil falls back to the
/// terminal: stdin for input, `output` for display and page, stderr for warnings, nothing
/// for clearing.
public struct FrontEndHooks {
    /// Asks for a line: the prompt, and whether what is typed must stay hidden. Throws when
    /// the front end cannot ask (a notebook run headless).
    public var readInput: ((_ prompt: String, _ password: Bool) throws -> String)?
    /// Shows a value's MIME bundle as its own output (a notebook's display_data).
    public var display: ((Value) -> Void)?
    /// Writes text to the error stream.
    public var writeError: ((String) -> Void)?
    /// Clears the output shown so far (`wait`: only once new output arrives).
    public var clearOutput: ((_ wait: Bool) -> Void)?
    /// Shows a value in the front end's pager (a notebook's help panel).
    public var page: ((Value) -> Void)?

    public init() {}
}

extension Interpreter {
    /// Reads a line from standard input after writing the prompt to `output` (the terminal
    /// default of `input`); nil at the end of input.
    static func readStandardInput(prompt: String, output: (String) -> Void) -> String? {
        output(prompt)
        return readLine(strippingNewline: true)
    }
}
