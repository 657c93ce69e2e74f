/// The words the language reserves for itself.
public enum Keyword: String, Sendable, CaseIterable {
    case `true`, `false`, none, and, or, not
}

/// Punctuation and operators, by their text.
public enum Punctuation: String, Sendable, CaseIterable {
    case leftParen = "(", rightParen = ")", leftBracket = "[", rightBracket = "]"
    case comma = ",", colon = ":", dot = ".", semicolon = ";", assign = "="
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%"
    case halfOpenRange = "..<", closedRange = "..."

    /// How many characters write it (`rawValue.utf8.count`, without making the string).
    var length: Int {
        switch self {
        case .equal, .notEqual, .lessOrEqual, .greaterOrEqual: 2
        case .halfOpenRange, .closedRange: 3
        default: 1
        }
    }

    /// The closer of an opening bracket.
    var closer: Punctuation? {
        switch self {
        case .leftParen: .rightParen
        case .leftBracket: .rightBracket
        default: nil
        }
    }
}

public enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case number(Double)
    case string(String)
    case keyword(Keyword)
    case punctuation(Punctuation)
    /// The end of a statement (a line break outside brackets).
    case newline
    case end
}

public struct Token: Sendable {
    public var kind: TokenKind
    public var range: SourceRange

    /// How an error message names this token: "')'", "name 'x'", "end of input".
    var quoted: String {
        switch kind {
        case .identifier(let name): "'\(name)'"
        case .number: "a number"
        case .string: "a string"
        case .keyword(let k): "'\(k.rawValue)'"
        case .punctuation(let p): "'\(p.rawValue)'"
        case .newline: "end of line"
        case .end: "end of input"
        }
    }

    func isPunctuation(_ p: Punctuation) -> Bool { kind == .punctuation(p) }
}

/// Words other languages use for statements the cast language does not have; using one
/// gets an error that says so instead of "unknown name".
let reservedWords: Set<String> = ["if", "else", "elif", "for", "while", "in", "def", "fn", "func", "return",
                                  "let", "var", "import", "lambda", "class", "null", "nil", "True", "False", "None"]

/// Whether `name` is one of `reservedWords`. They are 2 to 6 bytes long: testing the length
/// first spares most names the hashing.
func isReservedWord(_ name: String) -> Bool {
    (2...6).contains(name.utf8.count) && reservedWords.contains(name)
}
