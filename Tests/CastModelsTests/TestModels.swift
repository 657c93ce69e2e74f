import Foundation

/// Little-endian byte assembly for hand-built (often deliberately broken) GGUF images.
struct ByteBuilder {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func int<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func i32(_ v: Int32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func i64(_ v: Int64) { int(v) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); raw(Array(s.utf8)) }

    /// Magic, version 3, tensor and kv counts.
    mutating func header(tensors: Int64, kvs: Int64, magic: String = "GGUF", version: UInt32 = 3) {
        raw(Array(magic.utf8)); u32(version); i64(tensors); i64(kvs)
    }

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}
