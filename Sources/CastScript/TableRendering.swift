/// Tables as text (aligned columns) and HTML, for every value that shows one.
public struct RenderedTable {
    public var header: [String]
    public var rows: [[String]]
    /// Columns whose cells align right (numbers).
    public var rightAligned: Set<Int> = []
    /// A line under the table ("… 120 more rows").
    public var footer: String?
    /// A line over the table ("smollm2-135m: 5 tokens").
    public var caption: String?

    public init(header: [String], rows: [[String]], rightAligned: Set<Int> = [], caption: String? = nil, footer: String? = nil) {
        self.header = header
        self.rows = rows
        self.rightAligned = rightAligned
        self.caption = caption
        self.footer = footer
    }

    /// Columns padded to their widest cell, two spaces apart; the last column unpadded.
    public var text: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        var lines = caption.map { [$0] } ?? []
        for row in all {
            let cells = header.indices.map { column -> String in
                let cell = row.indices.contains(column) ? row[column] : ""
                if column == header.count - 1 && !rightAligned.contains(column) { return cell }
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            lines.append(line)
        }
        if let footer { lines.append(footer) }
        return lines.joined(separator: "\n")
    }

    /// A plain `<table>` (Jupyter styles it), with the caption and footer around it.
    public var html: String {
        var out = ""
        if let caption { out += "<p>\(Self.escape(caption))</p>\n" }
        out += "<table>\n<thead><tr>"
        for (i, cell) in header.enumerated() { out += "<th\(align(i))>\(Self.escape(cell))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() { out += "<td\(align(i))>\(Self.escape(cell))</td>" }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table>"
        if let footer { out += "\n<p>\(Self.escape(footer))</p>" }
        return out
    }

    private func align(_ column: Int) -> String {
        rightAligned.contains(column) ? " style=\"text-align: right\"" : ""
    }

    /// The bundle of a value shown as this table.
    public var bundle: MIMEBundle { [MIMEType.plain: text, MIMEType.html: html] }

    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
