import CastScript

/// A failed cell as Jupyter's error content: ename, evalue, traceback.
struct ExecutionFailure {
    var name: String
    var value: String
    var traceback: [String]

    init(name: String, value: String, traceback: [String]) {
        self.name = name
        self.value = value
        self.traceback = traceback
    }

    init(_ error: ScriptError) {
        let names: [ScriptError.Kind: String] = [.syntax: "SyntaxError", .name: "NameError", .type: "TypeError",
                                                 .value: "ValueError", .engine: "EngineError", .interrupted: "KeyboardInterrupt"]
        name = names[error.kind] ?? "Error"
        value = error.message
        traceback = error.rendered().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static let interrupted = ExecutionFailure(
        name: "KeyboardInterrupt",
        value: "interrupted: the running builtin stopped at a step boundary and kept its work; every variable keeps its value",
        traceback: ["KeyboardInterrupt: the cell was interrupted. The running builtin stopped at a step boundary and kept "
                    + "what it had done; every variable keeps its value."])

    var content: JSON {
        ["ename": .string(name), "evalue": .string(value), "traceback": JSON(traceback)]
    }
}
