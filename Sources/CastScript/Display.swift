/// What a front end shows for a value: MIME type → content. `text/plain` is always there;
/// `text/html` where the value has a table (the Jupyter kernel sends the bundle as is, the
/// REPL and `cast run` print `text/plain`).
public typealias MIMEBundle = [String: String]

public enum MIMEType {
    public static let plain = "text/plain"
    public static let html = "text/html"
    public static let svg = "image/svg+xml"
}

extension Value {
    /// The bundle for this value: plain values as they are written, engine values through
    /// their own `display()`.
    public func display() -> MIMEBundle {
        switch self {
        case .object(let o): o.display()
        case .builtin(let b): [MIMEType.plain: b.documentation]
        default: [MIMEType.plain: written()]
        }
    }

    /// `text/plain` of `display()`.
    public var plainText: String { display()[MIMEType.plain] ?? written() }

    /// The value as it is written in the language (strings quoted and escaped), cut with
    /// "…" past `limit` characters so a huge list cannot flood a terminal.
    public func written(limit: Int = 20_000) -> String {
        var out = BoundedText(limit: limit)
        write(into: &out, depth: 0)
        return out.text
    }

    /// Text for `print` and `str`: strings as they are, everything else as written.
    public func printed(limit: Int = 1_000_000) -> String {
        if case .string(let s) = self { return s }
        return written(limit: limit)
    }

    private func write(into out: inout BoundedText, depth: Int) {
        guard !out.isFull else { return }
        switch self {
        case .none: out.append("none")
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let x): out.append(Value.format(x))
        case .string(let s): out.append(Value.quote(s, limit: out.remaining))
        case .range(let r): out.append(r.description)
        case .builtin(let b): out.append("<builtin \(b.name)>")
        case .object(let o): out.append(o.brief)
        case .list(let items):
            guard depth < 32 else { return out.append("[…]") }
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(", ") }
                item.write(into: &out, depth: depth + 1)
                if out.isFull { break }
            }
            out.append("]")
        }
    }

    /// Whole numbers without a fraction ("42"), others in Swift's shortest exact form
    /// ("0.001", "1e-05"), and "inf", "-inf", "nan".
    public static func format(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == x.rounded(.towardZero), abs(x) <= 9_007_199_254_740_992 { return String(Int(x)) }
        return String(x)
    }

    /// A string as the language writes it: double quotes, escapes for quotes, backslashes
    /// and control characters.
    public static func quote(_ s: String, limit: Int = Int.max) -> String {
        var out = "\""
        var written = 0
        for scalar in s.unicodeScalars {
            if written >= limit { out += "…"; break }
            written += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Text that stops growing at a limit and then ends in "…".
struct BoundedText {
    private(set) var text = ""
    private var count = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var isFull: Bool { count >= limit }
    var remaining: Int { max(0, limit - count) }

    mutating func append(_ s: String) {
        guard !isFull else { return }
        let n = s.unicodeScalars.count
        if count + n <= limit {
            text += s
            count += n
        } else {
            text += String(String.UnicodeScalarView(s.unicodeScalars.prefix(limit - count))) + "…"
            count = limit
        }
    }
}
