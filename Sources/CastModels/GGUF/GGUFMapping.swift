import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bytes of a GGUF file: a read-only memory map of the file, or (for files built in
/// memory) an owned copy. Tensor data pointers stay valid as long as this object lives.
final class GGUFBytes: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    /// True for a file mapping, whose pages can be dropped and read again from the file.
    let mapped: Bool
    private let release: () -> Void

    /// Maps `path` read-only.
    init(mapping path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(.io, file: path, offset: nil, field: "file", "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError(.io, file: path, offset: nil, field: "file", "cannot stat: \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        if size == 0 {
            // mmap rejects empty mappings; an empty file is just a truncated header.
            let empty = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            base = UnsafeRawPointer(empty)
            count = 0
            mapped = false
            release = { empty.deallocate() }
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(.io, file: path, offset: nil, field: "file", "cannot mmap \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
        release = { munmap(p, size) }
    }

    /// Copies `bytes` into 64-byte aligned memory.
    init(copying bytes: [UInt8]) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let src = $0.baseAddress { p.copyMemory(from: src, byteCount: bytes.count) } }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
        release = { p.deallocate() }
    }

    /// Maps the pages of `[offset, offset + length)` of a file mapping in one call, instead
    /// of one page fault per 4 KiB as a sequential read would take (MADV_POPULATE_READ,
    /// Linux 5.14+; a no-op elsewhere).
    func populate(offset: Int, length: Int) {
        guard mapped, length > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page, end = min(count, offset + length)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, 22)  // MADV_POPULATE_READ
    }

    /// Lets the kernel drop the resident pages wholly inside `[offset, offset + length)` of a
    /// file mapping (they are read from the file again if touched). Nothing for owned copies.
    func releasePages(offset: Int, length: Int) {
        guard mapped, length > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page, end = (offset + length) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit { release() }
}
