/// A table of values: named columns, rows of cells. `t.name` is a column as a list,
/// `t[i]` a row as a record, `len(t)` the row count.
public final class TableValue: ScriptObject {
    public static let typeName = "table"
    public static let summary = "Rows of values under named columns; t.column is a list, t[i] a record."
    public let columns: [String]
    public let rows: [[Value]]
    /// Columns shown right-aligned (numbers).
    let rightAligned: Set<Int>
    let caption: String?

    /// Rows shorter than `columns` are padded with `none`, longer ones cut.
    public init(columns: [String], rows: [[Value]], caption: String? = nil) {
        self.columns = columns
        let rows = rows.map { row in Array((row + Array(repeating: Value.none, count: max(0, columns.count - row.count))).prefix(columns.count)) }
        self.rows = rows
        self.caption = caption
        rightAligned = Set(columns.indices.filter { column in
            !rows.isEmpty && rows.allSatisfy { row in
                if case .number = row[column] { return true }
                return false
            }
        })
    }

    public static var attributes: [Attribute<TableValue>] {
        [Attribute("columns", "The column names, a list of strings.") { Value($0.columns) },
         Attribute("rows", "The rows, a list of records.") { t in .list(t.rows.indices.map { t.element(at: $0) }) }]
    }

    public var instanceAttributeNames: [String] { columns.filter { $0 != "columns" && $0 != "rows" } }

    public func instanceAttribute(_ name: String) -> Value? {
        guard let column = columns.firstIndex(of: name) else { return nil }
        return .list(rows.map { $0[column] })
    }

    public var length: Int? { rows.count }

    public func element(at i: Int) -> Value {
        .object(RecordValue(fields: Array(zip(columns, rows[i]))))
    }

    /// At most this many rows are shown; the rest are counted in a footer.
    static let shownRows = 100

    public func display() -> MIMEBundle {
        let shown = rows.prefix(Self.shownRows).map { row in row.map(Self.cell) }
        let footer = rows.count > Self.shownRows ? "… \(rows.count - Self.shownRows) more rows" : nil
        return RenderedTable(header: columns, rows: shown, rightAligned: rightAligned, caption: caption, footer: footer).bundle
    }

    /// A cell's text: strings bare (line breaks and other control characters escaped, so a
    /// row stays one line), everything else as written; cut at 80 characters.
    static func cell(_ value: Value) -> String {
        guard case .string(let s) = value else { return value.written(limit: 80) }
        var out = BoundedText(limit: 80)
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out.append(String(Value.quote(String(scalar)).dropFirst().dropLast()))
            } else {
                out.append(String(scalar))
            }
            if out.isFull { break }
        }
        return out.text
    }

    public var brief: String { "<table \(rows.count)×\(columns.count): \(columns.joined(separator: ", "))>" }
}

/// Named fields in order (a table row, `info(model)`): `r.field`, shown as a two-column table.
public final class RecordValue: ScriptObject {
    public static let typeName = "record"
    public static let summary = "Named fields; r.field reads one."
    public let fields: [(name: String, value: Value)]
    let caption: String?

    public init(fields: [(String, Value)], caption: String? = nil) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
        self.caption = caption
    }

    public static var attributes: [Attribute<RecordValue>] { [] }
    public var instanceAttributeNames: [String] { fields.map(\.name) }
    public func instanceAttribute(_ name: String) -> Value? { fields.first { $0.name == name }?.value }

    public func display() -> MIMEBundle {
        RenderedTable(header: ["field", "value"], rows: fields.map { [$0.name, TableValue.cell($0.value)] },
                      caption: caption).bundle
    }

    public var brief: String {
        "{" + fields.map { "\($0.name): \($0.value.written(limit: 40))" }.joined(separator: ", ") + "}"
    }
}

/// Text shown as it is (help pages): no quotes, no escapes.
public final class TextValue: ScriptObject {
    public static let typeName = "text"
    public static let summary = "Text to read, such as a help page."
    public let text: String

    public init(_ text: String) { self.text = text }

    public static var attributes: [Attribute<TextValue>] {
        [Attribute("text", "The text as a string.") { .string($0.text) }]
    }

    public func display() -> MIMEBundle {
        [MIMEType.plain: text, MIMEType.html: "<pre>\(RenderedTable.escape(text))</pre>"]
    }

    public var brief: String { "<text \(text.count) characters>" }
}
