/// Arithmetic and comparison on language values: `+ - * / %` on numbers, `+` joining two
/// strings or two lists, `==`/`!=` on anything, `< <= > >=` on two numbers or two strings.
enum Operators {
    static func apply(_ op: BinaryOperator, _ a: Value, _ b: Value,
                      left: SourceRange, right: SourceRange, whole: SourceRange) throws -> Value {
        switch op {
        case .equal: return .bool(a == b)
        case .notEqual: return .bool(!(a == b))
        case .less, .lessOrEqual, .greater, .greaterOrEqual: return try compare(op, a, b, whole)
        case .and, .or: preconditionFailure("and/or are evaluated by the interpreter (they short-circuit)")
        default: break
        }
        switch (a, b) {
        case let (.number(x), .number(y)):
            return .number(try arithmetic(op, x, y, right: right))
        case let (.string(x), .string(y)) where op == .add:
            guard x.utf8.count + y.utf8.count <= Interpreter.maximumStringLength else {
                throw ScriptError(.value, "the joined string would be longer than \(Interpreter.maximumStringLength) bytes", at: whole)
            }
            return .string(x + y)
        case let (.list(x), .list(y)) where op == .add:
            guard x.count + y.count <= Interpreter.maximumListLength else {
                throw ScriptError(.value, "the joined list would hold more than \(Interpreter.maximumListLength) elements", at: whole)
            }
            return .list(x + y)
        default:
            let what = op == .add ? "two numbers, two strings or two lists" : "two numbers"
            throw ScriptError(.type, "'\(op.rawValue)' needs \(what), got \(a.typeWithArticle) and \(b.typeWithArticle)",
                              at: whole)
        }
    }

    private static func arithmetic(_ op: BinaryOperator, _ x: Double, _ y: Double, right: SourceRange) throws -> Double {
        switch op {
        case .add: return x + y
        case .subtract: return x - y
        case .multiply: return x * y
        case .divide:
            guard y != 0 else { throw ScriptError(.value, "division by zero", at: right) }
            return x / y
        case .remainder:
            guard y != 0 else { throw ScriptError(.value, "remainder of a division by zero", at: right) }
            // Floored, as in Python: the result has the divisor's sign (-1 % 3 == 2).
            let r = x.truncatingRemainder(dividingBy: y)
            return r != 0 && (r < 0) != (y < 0) ? r + y : r
        default: preconditionFailure("not an arithmetic operator: \(op)")
        }
    }

    private static func compare(_ op: BinaryOperator, _ a: Value, _ b: Value, _ range: SourceRange) throws -> Value {
        let order: Int
        switch (a, b) {
        case let (.number(x), .number(y)):
            // Every comparison with nan is false, as in IEEE arithmetic.
            if x.isNaN || y.isNaN { return .bool(false) }
            order = x < y ? -1 : x > y ? 1 : 0
        case let (.string(x), .string(y)):
            order = x < y ? -1 : x > y ? 1 : 0
        default:
            throw ScriptError(.type, "'\(op.rawValue)' compares two numbers or two strings, got \(a.typeWithArticle) and \(b.typeWithArticle)",
                              at: range)
        }
        switch op {
        case .less: return .bool(order < 0)
        case .lessOrEqual: return .bool(order <= 0)
        case .greater: return .bool(order > 0)
        default: return .bool(order >= 0)
        }
    }
}
