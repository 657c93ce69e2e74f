/// A grid of Unicode braille characters used as a bitmap: each character holds 2 × 4 dots,
/// so a `columns` × `rows` canvas has twice the columns and four times the rows in dots.
/// Dot (0, 0) is the top left.
struct BrailleCanvas {
    let columns: Int
    let rows: Int
    private var bits: [UInt8]
    /// A character drawn instead of a cell's dots (a series number, a category marker).
    private var overlays: [Int: Character] = [:]

    init(columns: Int, rows: Int) {
        self.columns = max(1, columns)
        self.rows = max(1, rows)
        bits = Array(repeating: 0, count: self.columns * self.rows)
    }

    var dotWidth: Int { columns * 2 }
    var dotHeight: Int { rows * 4 }

    /// The bit of each dot in its character (Unicode's braille numbering: dots 1–3 and 7
    /// down the left column, 4–6 and 8 down the right).
    private static let dotBits: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    mutating func set(_ x: Int, _ y: Int) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        bits[(y / 4) * columns + x / 2] |= Self.dotBits[x % 2][y % 4]
    }

    /// The dots of a straight line between two dots (Bresenham).
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        // Bounded: the line is at most dx + |dy| + 1 dots long.
        for _ in 0...(dx - dy) {
            set(x, y)
            if x == x1, y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    /// Puts `character` in the cell holding dot (x, y).
    mutating func mark(_ x: Int, _ y: Int, _ character: Character) {
        guard x >= 0, y >= 0, x < dotWidth, y < dotHeight else { return }
        overlays[(y / 4) * columns + x / 2] = character
    }

    /// Row `row` as text: a blank for an empty cell.
    func line(_ row: Int) -> String {
        var out = ""
        for column in 0..<columns {
            let i = row * columns + column
            if let c = overlays[i] {
                out.append(c)
            } else {
                out.unicodeScalars.append(bits[i] == 0 ? " " : Unicode.Scalar(0x2800 + UInt32(bits[i]))!)
            }
        }
        return out
    }
}
