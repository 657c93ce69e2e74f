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
    public let value: Expr
    /// How evaluating `value` starts: kept here, not in an array of the call's own, which cost
    /// an allocation per call node.
    let operand: CallSite.Operand

    init(label: String?, labelRange: SourceRange?, value: Expr) {
        self.label = label
        self.labelRange = labelRange
        self.value = value
        operand = CallSite.Operand(value)
    }
}

/// An expression and the source it was read from.
public struct Expr: Sendable {
    public var kind: ExprKind
    public var range: SourceRange
    /// Levels of nesting below and including this node; the parser bounds it so that
    /// evaluating cannot run out of stack.
    public let depth: Int
    /// For a call: its arguments, and what the interpreter remembers of it (`CallSite`).
    let callSite: CallSite?

    public init(_ kind: ExprKind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
        depth = 1 + kind.childDepth
        if case .call(let callee, let arguments, _) = kind {
            callSite = CallSite(callee: callee, arguments: arguments, range: range)
        } else {
            callSite = nil
        }
    }
}

/// Only the cases that hold an `Expr` directly are boxed: a literal or a name is stored in
/// place, so parsing one allocates nothing.
public enum ExprKind: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case none
    case name(String)
    case list([Expr])
    indirect case unary(UnaryOperator, Expr)
    indirect case binary(BinaryOperator, Expr, Expr)
    /// `lower..<upper` (`closed == false`) or `lower...upper`.
    indirect case range(Expr, Expr, closed: Bool)
    indirect case call(Expr, [CallArgument], closing: SourceRange)
    indirect case attribute(Expr, name: String, nameRange: SourceRange)
    indirect case index(Expr, Expr)

    /// The greatest depth of the expressions directly inside this one (0 for none).
    var childDepth: Int {
        switch self {
        case .number, .string, .bool, .none, .name: 0
        case .list(let items): items.reduce(0) { max($0, $1.depth) }
        case .unary(_, let operand): operand.depth
        case .binary(_, let left, let right), .range(let left, let right, _), .index(let left, let right):
            max(left.depth, right.depth)
        case .call(let callee, let arguments, _): arguments.reduce(callee.depth) { max($0, $1.value.depth) }
        case .attribute(let base, _, _): base.depth
        }
    }
}

/// A top-level statement.
public struct Statement: Sendable {
    /// Not boxed: a box cost an allocation per statement, and running a program reads a
    /// statement in place (a call statement only its site).
    public enum Kind: Sendable {
        /// `name = value`
        case assignment(name: String, nameRange: SourceRange, value: Expr)
        /// An expression whose value a notebook or `cast run` shows.
        case expression(Expr)
    }

    public var kind: Kind
    public var range: SourceRange
    /// For an expression statement that is a call, the call's site: running the statement
    /// goes straight to it (matching `kind` for the expression copied it).
    let callSite: CallSite?

    init(kind: Kind, range: SourceRange) {
        self.kind = kind
        self.range = range
        if case .expression(let e) = kind { callSite = e.callSite } else { callSite = nil }
    }
}

/// A parsed script or cell.
public struct Program: Sendable {
    public var statements: [Statement]
}
