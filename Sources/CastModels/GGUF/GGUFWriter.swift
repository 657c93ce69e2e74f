import Foundation

/// Builds a GGUF version 3 file: metadata in insertion order, then tensor infos, then the
/// tensor data, each tensor aligned to `alignment` (written as `general.alignment` when it
/// is not the default 32).
public struct GGUFWriter {
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [(name: String, dimensions: [Int], type: GGMLType, data: [UInt8])] = []
    public let alignment: Int

    public init(alignment: Int = 32) throws {
        guard alignment > 0, alignment <= Int(UInt32.max), alignment & (alignment - 1) == 0 else {
            throw GGUFError(.invalidValue, file: "<writer>", offset: nil, field: "general.alignment",
                            "expected a power of two, found \(alignment)")
        }
        self.alignment = alignment
        if alignment != GGUFParser.defaultAlignment { metadata.append(("general.alignment", .uint32(UInt32(alignment)))) }
    }

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    /// Adds a tensor whose raw bytes are already in ggml layout for `type`; `dimensions` in
    /// ne order (contiguous first).
    public mutating func addTensor(_ name: String, dimensions: [Int], type: GGMLType, data: [UInt8]) throws {
        let elements = dimensions.reduce(1, *)
        let expected = elements / type.blockSize * type.bytesPerBlock
        guard !dimensions.isEmpty, dimensions[0] % type.blockSize == 0, data.count == expected else {
            throw GGUFError(.invalidValue, file: "<writer>", offset: nil, field: "tensor \"\(name)\"",
                            "ne \(dimensions) of \(type.name) needs \(expected) bytes, got \(data.count)")
        }
        tensors.append((name, dimensions, type, data))
    }

    /// Adds a float32 tensor with row-major `shape` (stored with ne = shape reversed).
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) throws {
        let data = values.withUnsafeBytes { Array($0) }
        try addTensor(name, dimensions: shape.reversed(), type: .f32, data: data)
    }

    /// The complete file image.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: Array("GGUF".utf8))
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            appendString(key, to: &out)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            appendString(t.name, to: &out)
            append(UInt32(t.dimensions.count), to: &out)
            for d in t.dimensions { append(Int64(d), to: &out) }
            append(t.type.rawValue, to: &out)
            append(UInt64(o), to: &out)
        }
        pad(&out)
        for t in tensors {
            out.append(contentsOf: t.data)
            pad(&out)
        }
        return out
    }

    public func write(to url: URL) throws {
        try Data(bytes()).write(to: url, options: .atomic)  // temp file + rename: no half-written adapter
    }

    private func pad(_ out: inout [UInt8]) {
        let padded = (out.count + alignment - 1) / alignment * alignment
        out.append(contentsOf: repeatElement(0, count: padded - out.count))
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        append(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .bool(let v): append(UInt8(v ? 1 : 0), to: &out)
        case .string(let v): appendString(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .array(let a): appendArray(a, to: &out)
        }
    }

    private func appendArray(_ a: GGUFArray, to out: inout [UInt8]) {
        append(a.elementType.rawValue, to: &out)
        append(UInt64(a.count), to: &out)
        switch a {
        case .uint8(let v): v.forEach { append($0, to: &out) }
        case .int8(let v): v.forEach { append($0, to: &out) }
        case .uint16(let v): v.forEach { append($0, to: &out) }
        case .int16(let v): v.forEach { append($0, to: &out) }
        case .uint32(let v): v.forEach { append($0, to: &out) }
        case .int32(let v): v.forEach { append($0, to: &out) }
        case .float32(let v): v.forEach { append($0.bitPattern, to: &out) }
        case .bool(let v): v.forEach { append(UInt8($0 ? 1 : 0), to: &out) }
        case .string(let v): v.forEach { appendString($0, to: &out) }
        case .uint64(let v): v.forEach { append($0, to: &out) }
        case .int64(let v): v.forEach { append($0, to: &out) }
        case .float64(let v): v.forEach { append($0.bitPattern, to: &out) }
        case .array(let v): v.forEach { appendArray($0, to: &out) }
        }
    }
}
