/// Help pages, all made from the builtin registry and the engine types' attribute tables:
/// `help()`, `help(name)`, `help(value)` and the builtin section of docs/language.md.
public enum Documentation {
    /// One engine value type's documentation, read from its attribute table.
    public struct TypePage {
        public let name: String
        public let summary: String
        public let attributes: [(name: String, help: String)]

        init<T: ScriptObject>(_ type: T.Type) {
            name = T.typeName
            summary = T.summary
            attributes = T.attributes.map { ($0.name, $0.help) }
        }

        /// What `help(value)` shows: the summary, then each attribute.
        var text: String {
            var lines = ["\(name): \(summary)"]
            if !attributes.isEmpty {
                let width = attributes.map { $0.name.count }.max() ?? 0
                lines += ["", "Attributes:"]
                lines += attributes.map { "  .\($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.help)" }
            }
            return lines.joined(separator: "\n")
        }

        var markdown: [String] {
            var lines = ["### `\(name)`", "", summary, ""]
            if !attributes.isEmpty {
                lines += attributes.map { "- `.\($0.name)`: \($0.help)" }
                lines.append("")
            }
            return lines
        }
    }

    /// The engine value types, in the order help lists them.
    public static var objectTypes: [TypePage] {
        [TypePage(ModelValue.self), TypePage(TokenizerValue.self), TypePage(TokenListValue.self),
         TypePage(GenerationValue.self), TypePage(LogitsValue.self), TypePage(TableValue.self),
         TypePage(RecordValue.self), TypePage(TextValue.self), TypePage(TaskValue.self), TypePage(CorpusValue.self),
         TypePage(LoRAValue.self), TypePage(CastValue.self), TypePage(PlotValue.self), TypePage(MarkupValue.self),
         TypePage(ActivationsValue.self), TypePage(PCAValue.self), TypePage(CKAValue.self)]
    }

    /// The plain types and one line on each.
    public static let plainTypes: [(name: String, summary: String)] = [
        ("number", "A number (a 64-bit float; whole numbers print without a fraction): 3, -0.5, 1e-3, 1_000."),
        ("string", "Text in double or single quotes, escapes \\n \\t \\\" \\\\ \\u{e9}; \"\"\"…\"\"\" spans lines."),
        ("bool", "true or false; 'and', 'or', 'not' combine them."),
        ("none", "No value: what print returns, an argument left out."),
        ("list", "[a, b, c]: values in order; xs[0], xs[-1], xs[1..<3], len(xs), xs + ys."),
        ("range", "0..<4 (0, 1, 2, 3) or 1...3 (1, 2, 3): whole numbers, lazy; range(0, 10, 2) steps."),
        ("builtin", "A function of the language; call it, or pass it to help."),
    ]

    /// What `help(topic)` shows.
    static func help(for topic: Value, in interpreter: Interpreter, at range: SourceRange) throws -> String {
        switch topic {
        case .none: return overview(interpreter)
        case .builtin(let b): return b.documentation
        case .object(let o): return o.typePage.text
        case .string(let name):
            let page = objectTypes.first(where: { $0.name == name })
            // A builtin and the type it returns may share a name (logits): show both.
            if let b = interpreter.builtins[name] { return b.documentation + (page.map { "\n\n" + $0.text } ?? "") }
            if let page { return page.text }
            if let p = plainTypes.first(where: { $0.name == name }) { return "\(p.name): \(p.summary)" }
            let topics = interpreter.builtinOrder + objectTypes.map(\.name) + plainTypes.map(\.name)
            throw ScriptError(.name, "help: no help on '\(name)'\(Suggestions.hint(for: name, among: topics))"
                              + " (help() lists the builtins)", at: range)
        default:
            let name = topic.typeName
            return "\(name): \(plainTypes.first { $0.name == name }?.summary ?? "")"
        }
    }

    /// `help()`: the syntax in brief, every builtin with its first sentence, the types.
    static func overview(_ interpreter: Interpreter) -> String {
        var lines = [
            "The cast language: name = value; calls f(x, key: value); lists [a, b]; ranges 0..<n, 0...n;",
            "strings \"…\"; numbers 1e-3; true, false, none; and, or, not; xs[i]; m.attribute; # comments.",
            "help(name) explains a builtin, help(value) its type's attributes; docs/language.md has it all.",
            "",
            "Builtins:",
        ]
        let builtins = interpreter.builtinOrder.compactMap { interpreter.builtins[$0] }
        let width = builtins.map { $0.name.count }.max() ?? 0
        for b in builtins {
            var summary = firstSentence(b.help)
            if summary.count > 96 - width { summary = String(summary.prefix(95 - width)) + "…" }
            lines.append("  \(b.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(summary)")
        }
        lines += ["", "Types: " + (plainTypes.map(\.name) + objectTypes.map(\.name)).joined(separator: ", ")]
        return lines.joined(separator: "\n")
    }

    static func firstSentence(_ text: String) -> String {
        guard let end = text.range(of: ". ") else { return text }
        return String(text[..<end.lowerBound]) + "."
    }

    // MARK: docs/language.md

    /// The markers around the generated part of docs/language.md.
    public static let referenceBegin = "<!-- builtins: generated from the registry by Documentation.reference(); do not edit -->"
    public static let referenceEnd = "<!-- end of builtins -->"

    /// The builtin and type reference in Markdown, as docs/language.md holds it between the
    /// markers (a test keeps the two equal).
    public static func reference(_ builtins: [Builtin] = Builtins.all) -> String {
        var out = [referenceBegin, ""]
        for b in builtins {
            out += ["### `\(b.name)`", "", "```", b.signature, "```", "", b.help, ""]
            if !b.parameters.isEmpty {
                for p in b.parameters {
                    var line = "- `\(p.name)` (\(p.type.name)"
                    if let d = p.defaultValue { line += ", default `\(d.written())`" }
                    if p.variadic { line += ", any number" }
                    line += ")"
                    if !p.help.isEmpty { line += ": \(p.help)" }
                    out.append(line)
                }
                out.append("")
            }
            out += ["```", b.example, "```", ""]
        }
        out += ["## Value types", ""]
        for (name, summary) in plainTypes { out.append("- `\(name)`: \(summary)") }
        out.append("")
        for t in objectTypes { out += t.markdown }
        out.append(referenceEnd)
        return out.joined(separator: "\n")
    }
}

extension ScriptObject {
    /// The documentation of this value's type.
    public var typePage: Documentation.TypePage { Documentation.TypePage(Self.self) }
}
