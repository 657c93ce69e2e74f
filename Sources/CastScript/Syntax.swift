/// A place in a source text. `offset` counts Unicode scalars from the start (what Jupyter's
/// `cursor_pos` counts); `line` and `column` are 1-based, columns in Unicode scalars too.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var line: Int
    public var column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    public static let start = SourceLocation(offset: 0, line: 1, column: 1)

    /// "3:14".
    public var description: String { "\(line):\(column)" }
}

/// The span of source a token, an expression or an error covers: `start` inclusive, `end`
/// exclusive.
public struct SourceRange: Hashable, Sendable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(_ start: SourceLocation, _ end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// A range from the start of `first` to the end of `last`.
    public init(from first: SourceRange, to last: SourceRange) {
        self.init(first.start, last.end)
    }

    public var description: String { start.description }
}

/// Operators with two operands, by the text that writes them.
public enum BinaryOperator: String, Sendable, CaseIterable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and, or
}

public enum UnaryOperator: String, Sendable {
    case negate = "-", not
}

/// One argument of a call: positional (`label == nil`) or keyword (`steps: 200`).
public struct CallArgument: Sendable {
    public var label: String?
    public var labelRange: SourceRange?
    public var value: Expr
}

/// An expression and the source it was read from.
public struct Expr: Sendable {
    public var kind: ExprKind
    public var range: SourceRange
    /// Levels of nesting below and including this node; the parser bounds it so that
    /// evaluating cannot run out of stack.
    public let depth: Int

    public init(_ kind: ExprKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
        depth = 1 + kind.children.reduce(0) { max($0, $1.depth) }
    }
}

public indirect enum ExprKind: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case none
    case name(String)
    case list([Expr])
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `lower..<upper` (`closed == false`) or `lower...upper`.
    case range(Expr, Expr, closed: Bool)
    case call(Expr, [CallArgument], closing: SourceRange)
    case attribute(Expr, name: String, nameRange: SourceRange)
    case index(Expr, Expr)

    /// The expressions directly inside this one.
    var children: [Expr] {
        switch self {
        case .number, .string, .bool, .none, .name: []
        case .list(let items): items
        case .unary(_, let operand): [operand]
        case .binary(_, let left, let right), .range(let left, let right, _), .index(let left, let right): [left, right]
        case .call(let callee, let arguments, _): [callee] + arguments.map(\.value)
        case .attribute(let base, _, _): [base]
        }
    }
}

/// A top-level statement.
public struct Statement: Sendable {
    public enum Kind: Sendable {
        /// `name = value`
        case assignment(name: String, nameRange: SourceRange, value: Expr)
        /// An expression whose value a notebook or `cast run` shows.
        case expression(Expr)
    }

    public var kind: Kind
    public var range: SourceRange
}

/// A parsed script or cell.
public struct Program: Sendable {
    public var statements: [Statement]
}
