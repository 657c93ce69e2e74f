/// A bounds-checked little-endian cursor over the bytes of a GGUF file.
///
/// Every read checks the remaining length first and throws `GGUFError.truncated` naming
/// the field and offset; lengths and counts are checked against the remaining bytes
/// before anything is allocated.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var position: Int = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    func error(_ kind: GGUFError.Kind, at offset: Int? = nil, _ field: String, _ message: String) -> GGUFError {
        GGUFError(kind, file: file, offset: offset ?? position, field: field, message)
    }

    private mutating func require(_ n: Int, _ field: String, _ what: String) throws {
        guard n <= remaining else {
            throw error(.truncated, field, "expected \(what) (\(n) bytes), only \(remaining) bytes left in a \(bytes.count)-byte file")
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size, field, "\(T.self)")
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return v
    }

    mutating func u8(_ f: String) throws -> UInt8 { try load(UInt8.self, f) }
    mutating func u32(_ f: String) throws -> UInt32 { try load(UInt32.self, f) }
    mutating func i32(_ f: String) throws -> Int32 { try load(Int32.self, f) }
    mutating func u64(_ f: String) throws -> UInt64 { try load(UInt64.self, f) }
    mutating func i64(_ f: String) throws -> Int64 { try load(Int64.self, f) }
    mutating func f32(_ f: String) throws -> Float { Float(bitPattern: try u32(f)) }
    mutating func f64(_ f: String) throws -> Double { Double(bitPattern: try u64(f)) }

    mutating func bool(_ field: String) throws -> Bool {
        let at = position
        let b = try u8(field)
        guard b <= 1 else { throw error(.invalidValue, at: at, field, "bool must be 0 or 1, found \(b)") }
        return b == 1
    }

    /// A u64 count of items each at least `minimumBytes` long; rejects counts the rest of
    /// the file cannot hold, so a hostile count never becomes a huge allocation.
    mutating func count(_ field: String, minimumBytes: Int, signed: Bool = false) throws -> Int {
        let at = position
        let raw = try u64(field)
        if signed && Int64(bitPattern: raw) < 0 {
            throw error(.invalidValue, at: at, field, "count must be non-negative, found \(Int64(bitPattern: raw))")
        }
        let fits = remaining / max(minimumBytes, 1)
        guard raw <= UInt64(fits) else {
            throw error(.tooLarge, at: at, field,
                        "count \(raw) of items of at least \(minimumBytes) bytes cannot fit in the \(remaining) bytes left")
        }
        return Int(raw)
    }

    mutating func string(_ field: String) throws -> String {
        let at = position
        let length = try u64(field + " (string length)")
        guard length <= UInt64(remaining) else {
            throw error(.tooLarge, at: at, field, "string length \(length) exceeds the \(remaining) bytes left")
        }
        let n = Int(length)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + n]), as: UTF8.self)
        position += n
        return s
    }

    /// Reads `count` fixed-width little-endian values in one pass.
    mutating func array<T: FixedWidthInteger>(_: T.Type, count: Int, _ field: String) throws -> [T] {
        let size = MemoryLayout<T>.size
        try require(count * size, field, "\(count) × \(T.self)")
        let start = position
        let out = [T](unsafeUninitializedCapacity: count) { buf, initialized in
            for i in 0..<count {
                buf[i] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + i * size, as: T.self))
            }
            initialized = count
        }
        position += count * size
        return out
    }

    mutating func skip(to offset: Int) { position = offset }
}
