import CastTensor
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk form of a model's packed matrices (`PackedWeightCache`): a header naming the
/// GGUF file it was made from, an index of matrices, then each matrix's packed bytes at a
/// page boundary, exactly as `PackedMatrix` holds them, so a load maps the file and uses the
/// bytes in place.
///
/// Layout (little-endian): magic "CASTPACK", layout version u32, flags u32 (bit 0: 4/5-bit
/// q allowed; bit 1: all-zero offsets left out), source size u64, source mtime seconds i64 and nanoseconds i64, source inode
/// u64, entry count u32, index bytes u32, data offset u64, file size u64, checksum u64 (FNV-1a
/// of the 72 bytes before it and the index); then the index: per matrix a u16 name length,
/// the name, ggml type, rows, columns, group, bits, bias, offsets stored (1) or left out (0)
/// (u32 each), offset and byte count (u64 each). Version 2: groups may leave their offsets out.
/// Version 3: panels interleaved in quads (`packed_matrix.h`).
enum PackedCacheFile {
    /// Bump whenever the packed layout or the packers change what they write.
    static let layoutVersion: UInt32 = 3
    static let magic = Array("CASTPACK".utf8)
    static let headerBytes = 80
    static let page = 4096

    /// What a cache file must match to stand for a GGUF file.
    struct Source: Equatable {
        var size: UInt64
        var mtimeSeconds: Int64
        var mtimeNanoseconds: Int64
        var inode: UInt64
        var nibbles: Bool
        var omitOffsets: Bool

        init(path: String) throws {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw ModelError.invalidInput("\(path): cannot stat: \(String(cString: strerror(errno)))")
            }
            size = UInt64(info.st_size)
            mtimeSeconds = Int64(info.st_mtim.tv_sec)
            mtimeNanoseconds = Int64(info.st_mtim.tv_nsec)
            inode = UInt64(info.st_ino)
            nibbles = PackedMatrix.nibblesAllowed
            omitOffsets = PackedMatrix.offsetsOmittable
        }
    }

    struct Entry {
        var name: String
        var ggmlType: UInt32
        var rows: Int, columns: Int, group: Int, bits: Int, bias: Int, offsets: Bool
        var offset: Int
        var byteCount: Int
    }

    /// Why a cache file cannot be used (it is rebuilt).
    struct Invalid: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A cache file mapped read-only; its matrices borrow the mapping and keep it alive.
    final class Mapping: @unchecked Sendable {
        let base: UnsafeRawPointer
        let count: Int
        let entries: [String: Entry]

        /// Maps and checks `path` against `source`; throws `Invalid` saying what is wrong.
        init(path: String, source: Source) throws {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw Invalid("cannot open: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw Invalid("cannot stat: \(String(cString: strerror(errno)))") }
            let size = Int(info.st_size)
            guard size >= PackedCacheFile.headerBytes else {
                throw Invalid("truncated: \(size) bytes, shorter than the \(PackedCacheFile.headerBytes)-byte header")
            }
            guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
                throw Invalid("cannot mmap \(size) bytes: \(String(cString: strerror(errno)))")
            }
            do {
                entries = try PackedCacheFile.parse(UnsafeRawBufferPointer(start: p, count: size), source: source)
            } catch {
                munmap(p, size)
                throw error
            }
            base = UnsafeRawPointer(p)
            count = size
            // Map every page now, as llama.cpp's loader does, rather than fault them in one
            // by one during the first forward pass (MADV_POPULATE_READ, Linux 5.14+).
            _ = madvise(p, size, 22)
        }

        /// The matrix stored under `name`, nil when absent.
        func matrix(_ name: String) throws -> (entry: Entry, matrix: PackedMatrix)? {
            guard let e = entries[name] else { return nil }
            let matrix = try PackedMatrix(rows: e.rows, columns: e.columns, group: e.group, bits: e.bits, bias: e.bias,
                                          offsets: e.offsets, borrowing: base + e.offset, byteCount: e.byteCount, owner: self)
            return (e, matrix)
        }

        deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The entries of a mapped file, after checking its header, size, checksum and bounds.
    static func parse(_ bytes: UnsafeRawBufferPointer, source: Source) throws -> [String: Entry] {
        var r = Reader(bytes: bytes)
        guard Array(bytes.prefix(8)) == magic else { throw Invalid("not a packed-weight cache (bad magic)") }
        r.position = 8
        let version = r.u32()
        guard version == layoutVersion else {
            throw Invalid("layout version \(version), this build reads version \(layoutVersion)")
        }
        let flags = r.u32()
        let stored = (size: r.u64(), seconds: r.i64(), nanoseconds: r.i64(), inode: r.u64())
        guard stored.size == source.size, stored.seconds == source.mtimeSeconds,
              stored.nanoseconds == source.mtimeNanoseconds, stored.inode == source.inode else {
            throw Invalid("made from another version of the GGUF file (size, mtime or inode differ)")
        }
        guard (flags & 1 != 0) == source.nibbles else { throw Invalid("made with CAST_PACKED_NIBBLES set otherwise") }
        guard (flags & 2 != 0) == source.omitOffsets else { throw Invalid("made with CAST_PACKED_OFFSETS set otherwise") }
        let entryCount = Int(r.u32()), indexBytes = Int(r.u32())
        let dataOffset = Int(r.u64()), fileSize = Int(r.u64()), checksum = r.u64()
        guard fileSize == bytes.count else {
            throw Invalid(fileSize > bytes.count ? "truncated: \(bytes.count) bytes, the header says \(fileSize)"
                                                 : "\(bytes.count) bytes, the header says \(fileSize)")
        }
        guard headerBytes + indexBytes <= dataOffset, dataOffset <= fileSize else {
            throw Invalid("index of \(indexBytes) bytes does not fit before the data at \(dataOffset)")
        }
        var hash = FNV1a()
        hash.add(UnsafeRawBufferPointer(rebasing: bytes[0..<72]))
        hash.add(UnsafeRawBufferPointer(rebasing: bytes[headerBytes..<(headerBytes + indexBytes)]))
        guard hash.value == checksum else { throw Invalid("header checksum mismatch (corrupted)") }

        var entries: [String: Entry] = [:]
        r = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<(headerBytes + indexBytes)]), position: headerBytes)
        for i in 0..<entryCount {
            guard let name = r.name() else { throw Invalid("index entry \(i) runs past the index") }
            let fields = (0..<7).map { _ in Int(r.u32()) }
            let offset = Int(r.u64()), count = Int(r.u64())
            guard !r.overran else { throw Invalid("index entry \(i) (\(name)) runs past the index") }
            guard offset >= dataOffset, offset % 64 == 0, count >= 0, offset <= fileSize - count else {
                throw Invalid("matrix \(name): \(count) bytes at \(offset) lie outside the \(fileSize)-byte file")
            }
            entries[name] = Entry(name: name, ggmlType: UInt32(fields[0]), rows: fields[1], columns: fields[2],
                                  group: fields[3], bits: fields[4], bias: fields[5], offsets: fields[6] != 0,
                                  offset: offset, byteCount: count)
        }
        return entries
    }

    /// Writes `matrices` (name, ggml type, matrix) for `source` to `url` atomically: into a
    /// temporary file beside it, renamed over `url` once complete.
    static func write(_ matrices: [(name: String, ggmlType: UInt32, matrix: PackedMatrix)], source: Source,
                      to url: URL) throws {
        var index: [UInt8] = []
        var offsets: [Int] = []
        // Offsets depend on the index size, which does not depend on them: size it first.
        let indexBytes = matrices.reduce(0) { $0 + 2 + $1.name.utf8.count + 7 * 4 + 2 * 8 }
        var offset = roundUp(headerBytes + indexBytes)
        for m in matrices {
            guard m.name.utf8.count <= Int(UInt16.max) else { throw Invalid("matrix name too long: \(m.name)") }
            offsets.append(offset)
            index.appendLittleEndian(UInt16(m.name.utf8.count))
            index.append(contentsOf: Array(m.name.utf8))
            for v in [Int(m.ggmlType), m.matrix.rows, m.matrix.columns, m.matrix.group, m.matrix.bits, m.matrix.bias,
                      m.matrix.offsets ? 1 : 0] {
                index.appendLittleEndian(UInt32(v))
            }
            index.appendLittleEndian(UInt64(offset))
            index.appendLittleEndian(UInt64(m.matrix.byteCount))
            offset = roundUp(offset + m.matrix.byteCount)
        }
        let fileSize = offset
        var header: [UInt8] = magic
        header.appendLittleEndian(layoutVersion)
        header.appendLittleEndian(UInt32((source.nibbles ? 1 : 0) | (source.omitOffsets ? 2 : 0)))
        header.appendLittleEndian(source.size)
        header.appendLittleEndian(source.mtimeSeconds)
        header.appendLittleEndian(source.mtimeNanoseconds)
        header.appendLittleEndian(source.inode)
        header.appendLittleEndian(UInt32(matrices.count))
        header.appendLittleEndian(UInt32(indexBytes))
        header.appendLittleEndian(UInt64(roundUp(headerBytes + indexBytes)))
        header.appendLittleEndian(UInt64(fileSize))
        var hash = FNV1a()
        header.withUnsafeBytes { hash.add($0) }
        index.withUnsafeBytes { hash.add($0) }
        header.appendLittleEndian(hash.value)

        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw Invalid("cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        var closed = false
        defer {
            if !closed { close(fd) }
            unlink(temporary.path)  // gone after a successful rename; removes it after a failure
        }
        func put(_ data: UnsafeRawBufferPointer, at position: Int) throws {
            var done = 0
            while done < data.count {
                let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(position + done))
                guard n > 0 else { throw Invalid("cannot write \(temporary.path): \(String(cString: strerror(errno)))") }
                done += n
            }
        }
        guard ftruncate(fd, off_t(fileSize)) == 0 else {
            throw Invalid("cannot size \(temporary.path) to \(fileSize) bytes: \(String(cString: strerror(errno)))")
        }
        try header.withUnsafeBytes { try put($0, at: 0) }
        try index.withUnsafeBytes { try put($0, at: headerBytes) }
        for (m, at) in zip(matrices, offsets) { try put(m.matrix.bytes, at: at) }
        closed = true
        guard close(fd) == 0 else { throw Invalid("cannot close \(temporary.path): \(String(cString: strerror(errno)))") }
        guard rename(temporary.path, url.path) == 0 else {
            throw Invalid("cannot rename \(temporary.path) to \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    static func roundUp(_ n: Int) -> Int { (n + page - 1) / page * page }

    /// Little-endian reads that stop (and flag `overran`) at the end of `bytes`.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var overran = false

        mutating func take<T: FixedWidthInteger>(_: T.Type) -> T {
            guard position + MemoryLayout<T>.size <= bytes.count else { overran = true; return 0 }
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + MemoryLayout<T>.size)])) }
            position += MemoryLayout<T>.size
            return T(littleEndian: v)
        }
        mutating func u32() -> UInt32 { take(UInt32.self) }
        mutating func u64() -> UInt64 { take(UInt64.self) }
        mutating func i64() -> Int64 { take(Int64.self) }
        mutating func name() -> String? {
            let length = Int(take(UInt16.self))
            guard !overran, position + length <= bytes.count else { return nil }
            defer { position += length }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]), as: UTF8.self)
        }
    }

    /// 64-bit FNV-1a: a cheap checksum of the header and index (the data is covered by the
    /// exact file size and the source's identity, not hashed, so a load need not read it).
    struct FNV1a {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
    }
}

private extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}
