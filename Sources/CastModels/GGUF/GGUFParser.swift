/// Parses the header, metadata and tensor infos of a GGUF file (DESIGN.md §4) and checks
/// that every tensor's data lies aligned, inside the file and apart from the others.
struct GGUFParser {
    static let magic: UInt32 = 0x4655_4747          // "GGUF" read as little-endian u32
    static let supportedVersions: ClosedRange<UInt32> = 2...3
    static let defaultAlignment = 32
    static let maxDimensions = 4                      // GGML_MAX_DIMS
    static let maxArrayNesting = 8
    /// Smallest possible tensor info: name length, n_dims, type, offset.
    static let minimumTensorInfoBytes = 8 + 4 + 4 + 8
    /// Smallest possible key/value pair: key length, value type, a one-byte value.
    static let minimumKeyValueBytes = 8 + 4 + 1

    struct Result {
        var version: UInt32
        var metadata: GGUFMetadata
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    var reader: GGUFByteReader
    var file: String { reader.file }

    init(bytes: UnsafeRawBufferPointer, file: String) {
        reader = GGUFByteReader(bytes: bytes, file: file)
    }

    mutating func parse() throws -> Result {
        let magic = try reader.u32("magic")
        guard magic == Self.magic else {
            let found = withUnsafeBytes(of: magic.littleEndian) { Array($0) }
            throw reader.error(.badMagic, at: 0, "magic",
                               "expected the bytes \"GGUF\" (47 47 55 46), found \(found.map { String($0, radix: 16) }.joined(separator: " "))")
        }
        let versionAt = reader.position
        let version = try reader.u32("version")
        guard Self.supportedVersions.contains(version) else {
            throw reader.error(.unsupportedVersion, at: versionAt, "version", "expected 2 or 3, found \(version)")
        }
        let tensorCount = try reader.count("tensor_count", minimumBytes: Self.minimumTensorInfoBytes, signed: true)
        let kvCount = try reader.count("kv_count", minimumBytes: Self.minimumKeyValueBytes, signed: true)

        var keys: [String] = []
        var values: [String: GGUFValue] = [:]
        var valueOffsets: [String: Int] = [:]
        keys.reserveCapacity(kvCount)
        for i in 0..<kvCount {
            let keyAt = reader.position
            let key = try reader.string("metadata[\(i)].key")
            guard values[key] == nil else {
                throw reader.error(.duplicate, at: keyAt, "metadata[\(i)].key", "key \"\(key)\" appears twice")
            }
            let typeAt = reader.position
            let type = try valueType("\(key) (value type)")
            valueOffsets[key] = typeAt
            values[key] = try value(of: type, field: key, depth: 0)
            keys.append(key)
        }
        let metadata = GGUFMetadata(keys: keys, values: values, file: file)
        let alignment = try readAlignment(metadata, at: valueOffsets["general.alignment"])

        var infos: [(name: String, dims: [Int], type: GGMLType, offset: Int, offsetAt: Int, elements: Int, bytes: Int)] = []
        infos.reserveCapacity(tensorCount)
        var names = Set<String>()
        for i in 0..<tensorCount {
            let nameAt = reader.position
            let name = try reader.string("tensor[\(i)].name")
            let field = "tensor \"\(name)\""
            guard names.insert(name).inserted else {
                throw reader.error(.duplicate, at: nameAt, field + ".name", "tensor name appears twice")
            }
            let nDimsAt = reader.position
            let nDims = try reader.u32(field + ".n_dims")
            guard (1...UInt32(Self.maxDimensions)).contains(nDims) else {
                throw reader.error(.invalidValue, at: nDimsAt, field + ".n_dims", "expected 1...\(Self.maxDimensions), found \(nDims)")
            }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let dimAt = reader.position
                let ne = try reader.i64(field + ".ne[\(d)]")
                guard ne >= 0 else {
                    throw reader.error(.invalidValue, at: dimAt, field + ".ne[\(d)]", "expected a non-negative dimension, found \(ne)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(ne))
                guard !overflow else {
                    throw reader.error(.overflow, at: dimAt, field + ".ne[\(d)]",
                                       "element count \(dims.map(String.init).joined(separator: "×"))×\(ne) overflows Int")
                }
                elements = product
                dims.append(Int(ne))
            }
            let typeAt = reader.position
            let rawType = try reader.u32(field + ".type")
            guard let type = GGMLType(rawValue: rawType) else {
                throw reader.error(.unknownTensorType, at: typeAt, field + ".type", "unknown ggml type id \(rawType)")
            }
            guard dims[0] % type.blockSize == 0 else {
                throw reader.error(.invalidValue, at: nDimsAt + 4, field + ".ne[0]",
                                   "row length \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let (bytes, bytesOverflow) = (elements / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !bytesOverflow else {
                throw reader.error(.overflow, at: nDimsAt, field + ".ne", "byte size of \(elements) \(type.name) elements overflows Int")
            }
            let offsetAt = reader.position
            let rawOffset = try reader.u64(field + ".offset")
            guard let offset = Int(exactly: rawOffset) else {
                throw reader.error(.dataOutOfBounds, at: offsetAt, field + ".offset", "offset \(rawOffset) is past any possible file end")
            }
            infos.append((name, dims, type, offset, offsetAt, elements, bytes))
        }

        // Data starts at the next multiple of the alignment after the tensor infos.
        let headerEnd = reader.position
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        let fileSize = reader.bytes.count
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for t in infos {
            let field = "tensor \"\(t.name)\".offset"
            guard t.offset % alignment == 0 else {
                throw reader.error(.misaligned, at: t.offsetAt, field, "offset \(t.offset) is not a multiple of the alignment \(alignment)")
            }
            let (start, o1) = dataOffset.addingReportingOverflow(t.offset)
            let (end, o2) = start.addingReportingOverflow(t.bytes)
            guard !o1, !o2, end <= fileSize else {
                throw reader.error(.dataOutOfBounds, at: t.offsetAt, field,
                                   "data of \(t.bytes) bytes at file offset \(o1 ? "∞" : String(start)) ends past the end of the \(fileSize)-byte file")
            }
            tensors.append(GGUFTensorInfo(name: t.name, dimensions: t.dims, type: t.type, offset: t.offset,
                                          fileOffset: start, elementCount: t.elements, byteCount: t.bytes))
        }
        try checkNoOverlap(tensors, offsetFields: Dictionary(uniqueKeysWithValues: infos.map { ($0.name, $0.offsetAt) }))
        return Result(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    private func readAlignment(_ metadata: GGUFMetadata, at offset: Int?) throws -> Int {
        guard let v = metadata["general.alignment"] else { return Self.defaultAlignment }
        guard case .uint32(let a) = v else {
            throw reader.error(.typeMismatch, at: offset, "general.alignment", "expected uint32, found \(v.typeDescription)")
        }
        guard a > 0, a & (a - 1) == 0 else {
            throw reader.error(.invalidValue, at: offset, "general.alignment", "expected a power of two, found \(a)")
        }
        return Int(a)
    }

    private func checkNoOverlap(_ tensors: [GGUFTensorInfo], offsetFields: [String: Int]) throws {
        let sorted = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.byteCount {
            throw reader.error(.overlapping, at: offsetFields[b.name], "tensor \"\(b.name)\".offset",
                               "data at \(b.offset) overlaps tensor \"\(a.name)\" at \(a.offset)..<\(a.offset + a.byteCount)")
        }
    }

    private mutating func valueType(_ field: String) throws -> GGUFValueType {
        let at = reader.position
        let raw = try reader.u32(field)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw reader.error(.unknownValueType, at: at, field, "expected a value type 0...12, found \(Int32(bitPattern: raw))")
        }
        return type
    }

    private mutating func value(of type: GGUFValueType, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.u8(field))
        case .int8: return .int8(Int8(bitPattern: try reader.u8(field)))
        case .uint16: return .uint16(try reader.load(UInt16.self, field))
        case .int16: return .int16(try reader.load(Int16.self, field))
        case .uint32: return .uint32(try reader.u32(field))
        case .int32: return .int32(try reader.i32(field))
        case .float32: return .float32(try reader.f32(field))
        case .bool: return .bool(try reader.bool(field))
        case .string: return .string(try reader.string(field))
        case .uint64: return .uint64(try reader.u64(field))
        case .int64: return .int64(try reader.i64(field))
        case .float64: return .float64(try reader.f64(field))
        case .array: return .array(try array(field: field, depth: depth))
        }
    }

    private mutating func array(field: String, depth: Int) throws -> GGUFArray {
        let at = reader.position
        guard depth < Self.maxArrayNesting else {
            throw reader.error(.invalidValue, at: at, field, "arrays nested deeper than \(Self.maxArrayNesting) levels")
        }
        let elementType = try valueType(field + " (array element type)")
        let n = try reader.count(field + " (array count)", minimumBytes: elementType.minimumByteCount)
        switch elementType {
        case .uint8: return .uint8(try reader.array(UInt8.self, count: n, field))
        case .int8: return .int8(try reader.array(Int8.self, count: n, field))
        case .uint16: return .uint16(try reader.array(UInt16.self, count: n, field))
        case .int16: return .int16(try reader.array(Int16.self, count: n, field))
        case .uint32: return .uint32(try reader.array(UInt32.self, count: n, field))
        case .int32: return .int32(try reader.array(Int32.self, count: n, field))
        case .uint64: return .uint64(try reader.array(UInt64.self, count: n, field))
        case .int64: return .int64(try reader.array(Int64.self, count: n, field))
        case .float32: return .float32(try reader.array(UInt32.self, count: n, field).map { Float(bitPattern: $0) })
        case .float64: return .float64(try reader.array(UInt64.self, count: n, field).map { Double(bitPattern: $0) })
        case .bool:
            var out: [Bool] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try reader.bool("\(field)[\(i)]")) }
            return .bool(out)
        case .string:
            var out: [String] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try reader.string("\(field)[\(i)]")) }
            return .string(out)
        case .array:
            var out: [GGUFArray] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try array(field: "\(field)[\(i)]", depth: depth + 1)) }
            return .array(out)
        }
    }
}
