import CastModels
import Foundation

/// One completion: the text to insert, what kind of thing it is, and a line about it.
public struct CompletionCandidate: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case variable, builtin, keyword, argument, attribute, model, path
    }

    public var text: String
    public var kind: Kind
    public var detail: String
}

/// What to offer at a cursor: the candidates, and the span of the source (Unicode-scalar
/// offsets) a chosen candidate replaces.
public struct Completions: Sendable {
    public var candidates: [CompletionCandidate]
    public var replacing: Range<Int>

    public var texts: [String] { candidates.map(\.text) }
}

/// Whether an input can run as it is (for multi-line entry in the REPL and Jupyter's
/// `is_complete_request`).
public enum Completeness: String, Sendable {
    /// It parses: run it.
    case complete
    /// A bracket or a triple-quoted string is still open: read another line.
    case incomplete
    /// It cannot become valid by adding lines (a syntax error, or a one-line string left open):
    /// run it to show the error.
    case invalid
}

extension Interpreter {
    public static func isComplete(_ source: String) -> Completeness {
        let scan = Lexer.scan(source)
        if let open = scan.openString { return open.triple ? .incomplete : .invalid }
        if scan.error != nil { return .invalid }
        if !scan.openBrackets.isEmpty { return .incomplete }
        return (try? Parser.parse(source)) == nil ? .invalid : .complete
    }

    /// Candidates at `cursor` (a Unicode-scalar offset into `source`): variable and builtin
    /// names, the keyword arguments of the call around the cursor, attribute names after
    /// `.`, model names and paths inside `load("…")`. Evaluates nothing but variables and
    /// attributes.
    public func completions(in source: String, at cursor: Int) -> Completions {
        let context = CursorContext(source, cursor)
        if let open = context.scan.openString {
            return stringCompletions(open, context)
        }
        guard context.scan.error == nil else { return Completions(candidates: [], replacing: cursor..<cursor) }
        let tokens = context.tokens
        var partial = "", replacing = context.cursor..<context.cursor
        var before = tokens.count - 1
        if let last = tokens.last, last.range.end.offset == context.cursor {
            switch last.kind {
            case .identifier(let word):
                partial = word
            case .keyword(let word):
                partial = word.rawValue
            case .number, .string:
                return Completions(candidates: [], replacing: replacing)
            default:
                break
            }
            if !partial.isEmpty {
                replacing = last.range.start.offset..<context.cursor
                before -= 1
            }
        }
        if before >= 0, tokens[before].isPunctuation(.dot) {
            let names = attributeNames(before: before, tokens)
            let candidates = names.filter { $0.name.hasPrefix(partial) }
                .map { CompletionCandidate(text: $0.name, kind: .attribute, detail: $0.help) }
            return Completions(candidates: candidates, replacing: replacing)
        }
        var candidates: [CompletionCandidate] = []
        if let call = context.enclosingCall(before: before + 1), let builtin = builtins[call.name],
           before >= 0, tokens[before].isPunctuation(.leftParen) || tokens[before].isPunctuation(.comma) {
            let given = call.keywords
            let positional = call.positionalCount
            for (i, p) in builtin.parameters.enumerated() where !p.variadic && !given.contains(p.name) && i >= positional
                && p.name.hasPrefix(partial) {
                let detail = p.type.name + (p.defaultValue.map { ", default \($0.written())" } ?? "")
                candidates.append(CompletionCandidate(text: "\(p.name): ", kind: .argument, detail: detail))
            }
        }
        for name in variableOrder.sorted() where name.hasPrefix(partial) {
            let value = variable(name) ?? .none
            candidates.append(CompletionCandidate(text: name, kind: .variable, detail: "\(value.typeName): \(value.written(limit: 40))"))
        }
        for name in builtinOrder.sorted() where name.hasPrefix(partial) {
            candidates.append(CompletionCandidate(text: name, kind: .builtin, detail: builtins[name]?.signature ?? ""))
        }
        for word in Keyword.allCases.map(\.rawValue).sorted() where word.hasPrefix(partial) && !partial.isEmpty {
            candidates.append(CompletionCandidate(text: word, kind: .keyword, detail: "keyword"))
        }
        return Completions(candidates: candidates, replacing: replacing)
    }

    /// The attributes of the value before the `.` at `dot`, when it is a variable or a
    /// chain of attributes of one (`m.tokenizer.`); nothing is called.
    private func attributeNames(before dot: Int, _ tokens: [Token]) -> [(name: String, help: String)] {
        var chain: [String] = []
        var i = dot - 1
        while i >= 0, case .identifier(let name) = tokens[i].kind {
            chain.insert(name, at: 0)
            guard i >= 2, tokens[i - 1].isPunctuation(.dot) else { break }
            i -= 2
        }
        guard let first = chain.first, var value = variable(first) else { return [] }
        for name in chain.dropFirst() {
            guard case .object(let o) = value, let next = try? o.attribute(name) else { return [] }
            value = next
        }
        guard case .object(let object) = value else { return [] }
        let help = Dictionary(object.attributeHelp.map { ($0.name, $0.help) }, uniquingKeysWith: { a, _ in a })
        return object.attributeNames.map { ($0, help[$0] ?? "") }
    }

    /// Inside a string: model names (and paths) for `load`'s first argument, paths for any
    /// string that looks like one.
    private func stringCompletions(_ open: (start: SourceLocation, content: String, triple: Bool),
                                   _ context: CursorContext) -> Completions {
        let quoteLength = open.triple ? 3 : 1
        let replacing = (open.start.offset + quoteLength)..<context.cursor
        let typed = open.content
        var candidates: [CompletionCandidate] = []
        let tokens = context.tokens
        let isLoadName = context.enclosingCall(before: tokens.count)
            .map { $0.name == "load" && $0.positionalCount == 0 && ($0.keywords.isEmpty || $0.currentLabel == "name") } ?? false
        if isLoadName {
            for entry in ModelRegistry.models where entry.name.hasPrefix(typed) {
                candidates.append(CompletionCandidate(text: entry.name, kind: .model, detail: entry.description))
            }
        }
        if typed.contains("/") || typed.hasPrefix(".") || typed.hasPrefix("~") || (isLoadName && candidates.isEmpty) {
            candidates += PathCompletion.candidates(for: typed)
        }
        return Completions(candidates: candidates, replacing: replacing)
    }

    /// Documentation for the name under (or just before) the cursor: a builtin's help, a
    /// keyword argument's parameter, an attribute's meaning, a variable's type and value.
    public func inspect(_ source: String, at cursor: Int) -> String? {
        let scan = Lexer.scan(source)
        let tokens = scan.tokens.filter { $0.kind != .end }
        guard let position = tokens.lastIndex(where: { $0.range.start.offset <= cursor && cursor <= $0.range.end.offset
                                                        && { if case .identifier = $0.kind { true } else { false } }($0) }),
              case .identifier(let name) = tokens[position].kind else { return nil }
        if position >= 1, tokens[position - 1].isPunctuation(.dot) {
            let help = attributeNames(before: position - 1, tokens)
            return help.first { $0.name == name }.map { $0.help.isEmpty ? ".\($0.name)" : ".\($0.name): \($0.help)" }
        }
        if position + 1 < tokens.count, tokens[position + 1].isPunctuation(.colon),
           let call = CursorContext.enclosingCall(in: Array(tokens[..<position])), let builtin = builtins[call.name],
           let parameter = builtin.parameters.first(where: { $0.name == name }) {
            let defaultText = parameter.defaultValue.map { ", default \($0.written())" } ?? ""
            return "\(builtin.name)(… \(name): …) — \(parameter.type.name)\(defaultText)"
                + (parameter.help.isEmpty ? "" : "\n\(parameter.help)")
        }
        if let value = variable(name) {
            return "\(name): \(value.typeName)\n\(value.plainText)"
        }
        return builtins[name]?.documentation
    }
}

/// The tokens before a cursor, and the call (if any) whose parentheses hold it.
struct CursorContext {
    let cursor: Int
    let scan: Lexer.Scan
    /// The scanned tokens without the final `.end`.
    let tokens: [Token]

    init(_ source: String, _ cursor: Int) {
        let scalars = Array(source.unicodeScalars)
        self.cursor = max(0, min(cursor, scalars.count))
        scan = Lexer.scan(String(String.UnicodeScalarView(scalars[..<self.cursor])))
        tokens = scan.tokens.filter { $0.kind != .end }
    }

    /// The call whose `(` is open before token `end`.
    func enclosingCall(before end: Int) -> EnclosingCall? {
        Self.enclosingCall(in: Array(tokens[..<max(0, min(end, tokens.count))]))
    }

    struct EnclosingCall {
        var name: String
        /// Labels of the keyword arguments already written.
        var keywords: Set<String>
        /// Positional arguments before the one being written.
        var positionalCount: Int
        /// The label of the argument being written, if it has one.
        var currentLabel: String?
    }

    /// The innermost open `(` in `tokens` preceded by a name, with what its arguments so far are.
    static func enclosingCall(in tokens: [Token]) -> EnclosingCall? {
        var stack: [Int] = []
        for (i, t) in tokens.enumerated() {
            if t.isPunctuation(.leftParen) || t.isPunctuation(.leftBracket) { stack.append(i) }
            if (t.isPunctuation(.rightParen) || t.isPunctuation(.rightBracket)), !stack.isEmpty { stack.removeLast() }
        }
        guard let open = stack.last, tokens[open].isPunctuation(.leftParen), open >= 1,
              case .identifier(let name) = tokens[open - 1].kind else { return nil }
        var call = EnclosingCall(name: name, keywords: [], positionalCount: 0, currentLabel: nil)
        var depth = 0, segmentStart = open + 1
        func finishSegment(_ end: Int, last: Bool) {
            let segment = tokens[segmentStart..<end]
            var label: String?
            if segment.count >= 2, case .identifier(let l) = segment.first!.kind,
               segment[segment.startIndex + 1].isPunctuation(.colon) { label = l }
            if last {
                call.currentLabel = label
            } else if let label {
                call.keywords.insert(label)
            } else {
                call.positionalCount += 1
            }
        }
        for i in (open + 1)..<tokens.count {
            let t = tokens[i]
            if t.isPunctuation(.leftParen) || t.isPunctuation(.leftBracket) { depth += 1 }
            if t.isPunctuation(.rightParen) || t.isPunctuation(.rightBracket) { depth -= 1 }
            if depth == 0, t.isPunctuation(.comma) {
                finishSegment(i, last: false)
                segmentStart = i + 1
            }
        }
        finishSegment(tokens.count, last: true)
        return call
    }
}

/// File-system completion of a partly typed path ("~" is the home folder).
enum PathCompletion {
    static func candidates(for typed: String, limit: Int = 200) -> [CompletionCandidate] {
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        let expanded = typed.hasPrefix("~/") ? home + typed.dropFirst() : typed
        let folder: String, stem: String
        if let slash = expanded.lastIndex(of: "/") {
            folder = String(expanded[...slash])
            stem = String(expanded[expanded.index(after: slash)...])
        } else {
            folder = ""
            stem = expanded
        }
        let typedFolder = typed.lastIndex(of: "/").map { String(typed[...$0]) } ?? ""
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return [] }
        var out: [CompletionCandidate] = []
        for name in names.sorted() where name.hasPrefix(stem) && (!name.hasPrefix(".") || stem.hasPrefix(".")) {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder + name, isDirectory: &isFolder)
            out.append(CompletionCandidate(text: typedFolder + name + (isFolder.boolValue ? "/" : ""), kind: .path,
                                           detail: isFolder.boolValue ? "folder" : "file"))
            if out.count >= limit { break }
        }
        return out
    }
}
