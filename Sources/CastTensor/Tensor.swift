import Foundation

/// Heap storage for a tensor: one 64-byte aligned float32 buffer.
/// Shared between tensor values until one of them writes (copy-on-write).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    @usableFromInline init(capacity: Int) {
        self.capacity = capacity
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        TensorStorage.preferHugePages(raw, bytes: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    /// Asks Linux for transparent huge pages on a large buffer: first touches then fault in
    /// 2 MiB at a time instead of 4 KiB (loading a model's float32 weights was spending most
    /// of its time in page faults). Only the 2 MiB-aligned interior can use them.
    static func preferHugePages(_ raw: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let huge = 2 << 20
        guard bytes >= 2 * huge else { return }
        let start = (Int(bitPattern: raw) + huge - 1) & ~(huge - 1)
        let end = (Int(bitPattern: raw) + bytes) & ~(huge - 1)
        if end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) {
            _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        }
        #endif
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A dense, row-major float32 tensor with value semantics.
///
/// Copies share storage until one of them is mutated. Every tensor is contiguous:
/// `transposed()` and slicing materialise new storage, so BLAS and the kernels can
/// always treat the data as a plain buffer of `count` floats.
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage

    /// Number of elements (the product of `shape`).
    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// An empty tensor (shape [0]): a placeholder for a buffer that `reuse(shape:)` sizes later.
    public init() { self.init(zeros: [0]) }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        let n = shape.reduce(1, *)
        storage = TensorStorage(capacity: n)
        storage.pointer.initialize(repeating: 0, count: max(n, 1))
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(zeros: shape)
        if value != 0 { storage.pointer.update(repeating: value, count: count) }
    }

    /// A tensor holding `values` in row-major order; throws when the count does not match `shape`.
    public init(_ values: [Float], shape: [Int]) throws {
        let n = shape.reduce(1, *)
        guard values.count == n, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError("Tensor(_:shape:)", "\(values.count) values cannot fill shape \(shape) (\(n) elements)")
        }
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: n) }
    }

    /// A 1-D tensor.
    public init(_ values: [Float]) {
        try! self.init(values, shape: [values.count])
    }

    /// A tensor whose storage is uninitialised; used for outputs that are fully written.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        storage = TensorStorage(capacity: shape.reduce(1, *))
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs one element, shape is \(shape)")
        return storage.pointer[0]
    }

    // MARK: raw access

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Read-only pointer; valid while this tensor value is alive and unmodified.
    public var data: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Writable pointer after making the storage unique (copy-on-write).
    public var mutableData: UnsafeMutablePointer<Float> {
        mutating get { makeUnique(); return storage.pointer }
    }

    @inlinable
    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(capacity: storage.capacity)
            copy.pointer.update(from: storage.pointer, count: max(count, 0))
            storage = copy
        }
    }

    // MARK: element access (convenience, not for hot loops)

    public subscript(_ indices: Int...) -> Float {
        get { storage.pointer[flatIndex(indices)] }
        set { let i = flatIndex(indices); makeUnique(); storage.pointer[i] = newValue }
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "\(indices.count) indices for shape \(shape)")
        var flat = 0
        for (i, d) in zip(indices, shape) {
            precondition(i >= 0 && i < d, "index \(indices) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    // MARK: shape

    /// The same data with a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var dims = newShape
        if let inferred = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError("reshape", "cannot reshape \(shape) to \(newShape)")
            }
            dims[inferred] = count / known
        }
        guard dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, *) == count else {
            throw TensorError("reshape", "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        var t = self
        t.shape = dims
        return t
    }

    /// Prepares `self` as an output buffer of `newShape`, reusing its storage when it is
    /// uniquely owned and large enough. Contents are unspecified afterwards.
    public mutating func reuse(shape newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n <= storage.capacity && isKnownUniquelyReferenced(&storage) {
            shape = newShape
        } else {
            self = Tensor(uninitialized: newShape)
        }
    }

    /// Changes the shape to `newShape`, keeping the first `keeping` elements (a growing
    /// buffer such as a KV cache). Storage is reused when unique and large enough, otherwise it
    /// grows to at least twice its capacity so repeated appends cost amortised O(1).
    public mutating func resize(to newShape: [Int], keeping: Int) {
        let n = newShape.reduce(1, *)
        let kept = min(keeping, count, n)
        if n <= storage.capacity && isKnownUniquelyReferenced(&storage) {
            shape = newShape
            return
        }
        let grown = TensorStorage(capacity: Swift.max(n, 2 * storage.capacity))
        grown.pointer.update(from: storage.pointer, count: kept)
        storage = grown
        shape = newShape
    }

    /// Like `reuse(shape:)`, then fills with zeros (for buffers that backward accumulates into).
    public mutating func reuseZeroed(shape newShape: [Int]) {
        reuse(shape: newShape)
        storage.pointer.update(repeating: 0, count: count)
    }

    /// Sets every element to zero, keeping the shape (start of a training step).
    public mutating func zero() {
        makeUnique()
        storage.pointer.update(repeating: 0, count: count)
    }

    /// Throws unless `shape == expected`; `op` and `name` identify the caller in the message.
    public func expectShape(_ expected: [Int], _ op: String, _ name: String) throws {
        guard shape == expected else {
            throw TensorError(op, "\(name) has shape \(shape), expected \(expected)")
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(count > 8 ? ", …" : "")]"
    }
}

extension Tensor: Equatable {
    /// Exact equality of shape and every element (bit-identical checks in tests).
    public static func == (a: Tensor, b: Tensor) -> Bool {
        a.shape == b.shape && memcmp(a.storage.pointer, b.storage.pointer, a.count * 4) == 0
    }
}
