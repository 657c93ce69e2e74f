/// Reads tokens into a `Program` by recursive descent. Precedence, loosest first:
/// `or`, `and`, `not`, comparisons (`== != < <= > >=`, not chained), ranges (`..<`, `...`),
/// `+ -`, `* / %`, unary `-`, then calls, indexing and attributes. Stops at the first error.
public struct Parser {
    /// Deepest nesting of brackets and prefix operators the parser follows, and of the
    /// finished syntax tree: beyond these, parsing or evaluating could run out of stack.
    static let maximumNesting = 64
    static let maximumDepth = 256

    private let tokens: [Token]
    /// Each token's kind without its text, and where it is: what the parser tests and reads
    /// as it goes. Tested through `tokens`, a token was copied (its text retained and released)
    /// more than twenty times on a line of one call; these are plain values.
    private let marks: [Mark]
    private var index = 0
    private var nesting = 0

    struct Mark {
        let tag: Tag
        let range: SourceRange

        init(_ token: Token) {
            range = token.range
            tag = switch token.kind {
            case .identifier: .identifier
            case .number: .number
            case .string: .string
            case .keyword(let word): .keyword(word)
            case .punctuation(let p): .punctuation(p)
            case .newline: .newline
            case .end: .end
            }
        }
    }

    /// A token's kind, less the text of a name, number or string.
    enum Tag: Equatable {
        case identifier, number, string, keyword(Keyword), punctuation(Punctuation), newline, end
    }

    public static func parse(_ source: String) throws -> Program {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        return try parser.program()
    }

    init(tokens: [Token]) {
        self.tokens = tokens
        marks = tokens.map(Mark.init)
    }

    /// The current token, text and all: for messages and for the few places that need its text.
    private var current: Token { tokens[index] }

    private func at(_ p: Punctuation) -> Bool { marks[index].tag == .punctuation(p) }

    /// Whether the current token ends a statement's line: a line break or the end of the input.
    private var atNewline: Bool { marks[index].tag == .newline }
    private var atEnd: Bool { marks[index].tag == .end }

    private func at(_ k: Keyword) -> Bool { marks[index].tag == .keyword(k) }

    /// Whether the token `ahead` of the current one is `p`.
    private func peekIs(_ p: Punctuation, ahead: Int) -> Bool {
        marks[min(index + ahead, marks.count - 1)].tag == .punctuation(p)
    }

    /// Moves past the current token and returns its range.
    @discardableResult
    private mutating func advance() -> SourceRange {
        let range = marks[index].range
        skip()
        return range
    }

    /// Moves past the current token (staying on the final `.end`).
    private mutating func skip() {
        if index < tokens.count - 1 { index += 1 }
    }

    /// The range of the current token when it is `p`, which it moves past; nil otherwise.
    private mutating func take(_ p: Punctuation) -> SourceRange? {
        at(p) ? advance() : nil
    }

    private func error(_ message: String, at range: SourceRange? = nil) -> ScriptError {
        ScriptError(.syntax, message, at: range ?? marks[index].range)
    }

    // MARK: statements

    mutating func program() throws -> Program {
        var statements: [Statement] = []
        while true {
            while atNewline || at(.semicolon) { advance() }
            if atEnd { break }
            statements.append(try statement())
            guard atNewline || atEnd || at(.semicolon) else {
                throw error("expected the end of the statement (a new line or ';'), found \(current.quoted)")
            }
        }
        return Program(statements: statements)
    }

    private mutating func statement() throws -> Statement {
        let target = try expression()
        guard let equals = take(.assign) else {
            return Statement(kind: .expression(target), range: target.range)
        }
        guard case .name(let name) = target.kind else {
            throw error("cannot assign to \(Self.describe(target)): only a name can be assigned to, as in x = … "
                        + "(to compare, write '==')", at: target.range)
        }
        if atNewline || atEnd || at(.semicolon) {
            throw error("expected a value after '=' (\(name) = …)", at: equals)
        }
        let value = try expression()
        if at(.assign) {
            throw error("one '=' per statement: write each assignment on its own line")
        }
        return Statement(kind: .assignment(name: name, nameRange: target.range, value: value),
                         range: SourceRange(from: target.range, to: value.range))
    }

    private static func describe(_ e: Expr) -> String {
        switch e.kind {
        case .call: "a call"
        case .attribute: "an attribute"
        case .index: "an element"
        default: "a value"
        }
    }

    // MARK: operators

    mutating func expression() throws -> Expr {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else {
            throw error("expression nested too deeply (more than \(Self.maximumNesting) levels)")
        }
        // Most expressions are one operand (an argument, a name, a call): when no operator
        // follows it, skip the nine precedence levels that would each find nothing to do.
        var e: Expr
        let prefixed = at(.not) || at(.minus)
        if prefixed {
            e = try or()
        } else {
            e = try postfix()
            if continuesOperand(marks[index].tag) { e = try or(first: e) }
        }
        guard e.depth <= Self.maximumDepth else {
            throw error("expression too long or nested too deeply (more than \(Self.maximumDepth) levels): "
                        + "split it over several assignments", at: e.range)
        }
        return e
    }

    /// Whether `kind` is a binary operator some precedence level would apply to the operand
    /// before it.
    private func continuesOperand(_ tag: Tag) -> Bool {
        switch tag {
        case .keyword(.and), .keyword(.or): true
        case .punctuation(let p):
            switch p {
            case .plus, .minus, .star, .slash, .percent, .halfOpenRange, .closedRange: true
            default: Self.comparison(p) != nil
            }
        default: false
        }
    }

    // Each level below takes `first`, an operand its caller already parsed, as the leftmost
    // operand in place of parsing one (passed down to the innermost level).

    private mutating func or(first: Expr? = nil) throws -> Expr {
        var left = try and(first: first)
        while at(.or) {
            advance()
            let right = try and()
            left = Expr(.binary(.or, left, right), SourceRange(from: left.range, to: right.range))
        }
        return left
    }

    private mutating func and(first: Expr? = nil) throws -> Expr {
        var left = try not(first: first)
        while at(.and) {
            advance()
            let right = try not()
            left = Expr(.binary(.and, left, right), SourceRange(from: left.range, to: right.range))
        }
        return left
    }

    private mutating func not(first: Expr? = nil) throws -> Expr {
        guard first == nil, at(.not) else { return try comparison(first: first) }
        let op = advance()
        let operand = try nested { try $0.not() }
        return Expr(.unary(.not, operand), SourceRange(from: op, to: operand.range))
    }

    /// The comparison `p` writes, if it writes one (a switch: a dictionary lookup costs more).
    private static func comparison(_ p: Punctuation) -> BinaryOperator? {
        switch p {
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        default: nil
        }
    }

    private mutating func comparison(first: Expr? = nil) throws -> Expr {
        let left = try range(first: first)
        guard case .punctuation(let p) = marks[index].tag, let op = Self.comparison(p) else { return left }
        advance()
        let right = try range()
        if case .punctuation(let q) = marks[index].tag, Self.comparison(q) != nil {
            throw error("comparisons cannot be chained: write a < b and b < c")
        }
        return Expr(.binary(op, left, right), SourceRange(from: left.range, to: right.range))
    }

    private mutating func range(first: Expr? = nil) throws -> Expr {
        let lower = try additive(first: first)
        let closed: Bool
        if at(.halfOpenRange) { closed = false }
        else if at(.closedRange) { closed = true }
        else { return lower }
        advance()
        let upper = try additive()
        if at(.halfOpenRange) || at(.closedRange) {
            throw error("a range has one lower and one upper bound: write 0..<n")
        }
        return Expr(.range(lower, upper, closed: closed), SourceRange(from: lower.range, to: upper.range))
    }

    private mutating func additive(first: Expr? = nil) throws -> Expr {
        var left = try multiplicative(first: first)
        while true {
            let op: BinaryOperator
            if at(.plus) { op = .add } else if at(.minus) { op = .subtract } else { return left }
            advance()
            let right = try multiplicative()
            left = Expr(.binary(op, left, right), SourceRange(from: left.range, to: right.range))
        }
    }

    private mutating func multiplicative(first: Expr? = nil) throws -> Expr {
        var left: Expr
        if let first { left = first } else { left = try unary() }
        while true {
            let op: BinaryOperator
            switch marks[index].tag {
            case .punctuation(.star): op = .multiply
            case .punctuation(.slash): op = .divide
            case .punctuation(.percent): op = .remainder
            default: return left
            }
            advance()
            let right = try unary()
            left = Expr(.binary(op, left, right), SourceRange(from: left.range, to: right.range))
        }
    }

    private mutating func unary() throws -> Expr {
        guard at(.minus) else { return try postfix() }
        let op = advance()
        let operand = try nested { try $0.unary() }
        return Expr(.unary(.negate, operand), SourceRange(from: op, to: operand.range))
    }

    /// Runs `parse` one level deeper, refusing nesting past the limit.
    private mutating func nested(_ parse: (inout Parser) throws -> Expr) throws -> Expr {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else {
            throw error("expression nested too deeply (more than \(Self.maximumNesting) levels)")
        }
        return try parse(&self)
    }

    // MARK: calls, indexing, attributes

    private mutating func postfix() throws -> Expr {
        var e = try primary()
        while true {
            if at(.leftParen) {
                let open = index
                skip()
                let arguments = try callArguments(open: open)
                let close = advance()
                e = Expr(.call(e, arguments, closing: close), SourceRange(from: e.range, to: close))
            } else if at(.leftBracket) {
                let open = index
                skip()
                if at(.rightBracket) {
                    throw error("expected an index inside '[ ]', as in xs[0] or xs[-1]")
                }
                let position = try expression()
                let close = try closing(.rightBracket, opened: open)
                e = Expr(.index(e, position), SourceRange(from: e.range, to: close))
            } else if let dot = take(.dot) {
                guard case .identifier(let name) = current.kind else {
                    throw error("expected an attribute name after '.', found \(current.quoted)",
                                at: current.kind == .end || current.kind == .newline ? dot : current.range)
                }
                let nameRange = advance()
                e = Expr(.attribute(e, name: name, nameRange: nameRange), SourceRange(from: e.range, to: nameRange))
            } else {
                return e
            }
            guard e.depth <= Self.maximumDepth else {
                throw error("expression too long (more than \(Self.maximumDepth) levels): split it over several assignments",
                            at: e.range)
            }
        }
    }

    /// Arguments up to (not including) the `)` that closes `open`: positional ones first,
    /// then keyword ones, `name: value`.
    private mutating func callArguments(open: Int) throws -> [CallArgument] {
        var arguments: [CallArgument] = []
        arguments.reserveCapacity(4)   // most calls have a few: spares regrowing the array
        var seenKeyword: CallArgument?
        while !at(.rightParen) {
            guard !atEnd else { throw unclosed(open, expected: .rightParen) }
            if at(.comma) { throw error("expected an argument before ','") }
            var argument: CallArgument
            if marks[index].tag == .identifier, peekIs(.colon, ahead: 1), case .identifier(let label) = tokens[index].kind {
                let labelRange = advance()
                advance()
                if at(.comma) || at(.rightParen) || atEnd {
                    throw error("expected a value for '\(label):'")
                }
                argument = CallArgument(label: label, labelRange: labelRange, value: try expression())
                if let previous = arguments.first(where: { $0.label == label }) {
                    throw error("argument '\(label)' is given twice (first at \(previous.labelRange!.start))", at: labelRange)
                }
                seenKeyword = argument
            } else {
                if marks[index].tag == .identifier, peekIs(.assign, ahead: 1), case .identifier(let label) = tokens[index].kind {
                    throw error("keyword arguments are written with ':', as in \(label): …", at: tokens[index + 1].range)
                }
                argument = CallArgument(label: nil, labelRange: nil, value: try expression())
                if let keyword = seenKeyword {
                    throw error("a positional argument cannot follow the keyword argument '\(keyword.label!):'",
                                at: argument.value.range)
                }
            }
            arguments.append(argument)
            if take(.comma) == nil, !at(.rightParen) {
                throw unclosed(open, expected: .rightParen)
            }
        }
        return arguments
    }

    /// "expected ')' to close '(' at 1:5" — or, for a mismatched closer, says which. `open`
    /// is the index of the opening token.
    private func unclosed(_ open: Int, expected: Punctuation) -> ScriptError {
        let open = tokens[open]
        let found = current.kind == .end ? "" : ", found \(current.quoted)"
        var hint = ""
        if expected == .rightParen, current.kind != .end, !at(.rightBracket) {
            hint = " (separate arguments with ',')"
        }
        guard case .punctuation(let opener) = open.kind else { return error("unbalanced brackets") }
        return error("expected '\(expected.rawValue)' to close '\(opener.rawValue)' at \(open.range.start)\(found)\(hint)")
    }

    private mutating func closing(_ expected: Punctuation, opened open: Int) throws -> SourceRange {
        guard let close = take(expected) else { throw unclosed(open, expected: expected) }
        return close
    }

    // MARK: atoms

    private mutating func primary() throws -> Expr {
        // The text, read once here, where the node needs it.
        let range = marks[index].range
        switch tokens[index].kind {
        case .number(let value):
            skip()
            return Expr(.number(value), range)
        case .string(let text):
            skip()
            return Expr(.string(text), range)
        case .keyword(let word) where word == .true || word == .false:
            skip()
            return Expr(.bool(word == .true), range)
        case .keyword(.none):
            skip()
            return Expr(.none, range)
        case .identifier(let name):
            if isReservedWord(name) { throw reserved(name, range) }
            skip()
            return Expr(.name(name), range)
        default:
            return try bracketed()
        }
    }

    /// A parenthesized expression or a list, else the error for a token that starts no
    /// expression.
    private mutating func bracketed() throws -> Expr {
        let token = current, open = index
        switch token.kind {
        case .punctuation(.leftParen):
            advance()
            if at(.rightParen) { throw error("expected an expression inside '( )'") }
            let inner = try expression()
            if at(.comma) {
                throw error("expected ')' to close '(' at \(token.range.start), found ',' (write a list as [a, b])")
            }
            let close = try closing(.rightParen, opened: open)
            return Expr(inner.kind, SourceRange(from: token.range, to: close))
        case .punctuation(.leftBracket):
            advance()
            var items: [Expr] = []
            while !at(.rightBracket) {
                guard !atEnd else { throw unclosed(open, expected: .rightBracket) }
                if at(.comma) { throw error("expected a list element before ','") }
                items.append(try expression())
                if take(.comma) == nil, !at(.rightBracket) {
                    if atEnd { throw unclosed(open, expected: .rightBracket) }
                    throw error("expected ',' or ']' to close '[' at \(token.range.start), found \(current.quoted)")
                }
            }
            let close = advance()
            return Expr(.list(items), SourceRange(from: token.range, to: close))
        case .end:
            throw error("expected an expression, found the end of the input")
        case .newline:
            throw error("expected an expression before the end of the line "
                        + "(to continue an expression on the next line, put it in parentheses)")
        default:
            throw error("expected an expression, found \(token.quoted)")
        }
    }

    private func reserved(_ word: String, _ range: SourceRange) -> ScriptError {
        let spelled = ["True": "true", "False": "false", "None": "none", "null": "none", "nil": "none"]
        if let right = spelled[word] { return error("write '\(right)', not '\(word)'", at: range) }
        return error("'\(word)' is not part of the cast language: it has assignments, expressions and calls only "
                     + "(see help())", at: range)
    }
}
