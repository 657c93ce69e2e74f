import Foundation

/// Parses and validates a safetensors header against the size of the file it came from.
struct SafetensorsHeader {
    var metadata: [String: String] = [:]
    /// Sorted by data offset.
    var tensors: [SafetensorsTensorInfo] = []
    var dataStart = 0

    init(_ buffer: UnsafeRawBufferPointer, file: String) throws {
        func fail(_ kind: SafetensorsError.Kind, _ field: String, _ message: String) -> SafetensorsError {
            SafetensorsError(kind, file: file, field: field, message)
        }
        guard buffer.count >= 8 else {
            throw fail(.truncated, "header length", "the file has \(buffer.count) bytes; expected at least 8 for the header length")
        }
        let declared = UInt64(littleEndian: buffer.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(SafetensorsFile.maximumHeaderLength) else {
            throw fail(.tooLarge, "header length", "\(declared) bytes exceeds the limit of \(SafetensorsFile.maximumHeaderLength)")
        }
        let length = Int(declared)
        guard length <= buffer.count - 8 else {
            throw fail(.truncated, "header length", "\(length) bytes runs past the end of the file (\(buffer.count) bytes in all)")
        }
        dataStart = 8 + length
        let dataSize = buffer.count - dataStart

        let json = Data(UnsafeRawBufferPointer(rebasing: buffer[8..<dataStart]))
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: json) } catch {
            throw fail(.invalidHeader, "header", "expected valid JSON (\(error.localizedDescription))")
        }
        guard let root = parsed as? [String: Any] else { throw fail(.invalidHeader, "header", "expected a JSON object") }

        for (name, value) in root {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw fail(.invalidHeader, name, "expected an object of string values")
                }
                for (key, v) in dict {
                    guard let s = v as? String else { throw fail(.invalidHeader, "__metadata__.\(key)", "expected a string") }
                    metadata[key] = s
                }
                continue
            }
            tensors.append(try Self.tensor(name, value, dataSize: dataSize, fail))
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        // The tensors must tile the data section: no overlap, no gap, nothing left over.
        var end = 0
        var previous: SafetensorsTensorInfo? = nil
        for t in tensors {
            let r = t.byteRange
            if r.lowerBound < end, let p = previous {
                throw fail(.badOffsets, "\(t.name).data_offsets",
                           "[\(r.lowerBound), \(r.upperBound)] overlaps tensor '\(p.name)' at [\(p.byteRange.lowerBound), \(p.byteRange.upperBound)]")
            }
            if r.lowerBound > end {
                throw fail(.badOffsets, "\(t.name).data_offsets",
                           "starts at \(r.lowerBound); expected \(end), where the previous tensor ends (gaps are not allowed)")
            }
            end = r.upperBound
            previous = t
        }
        guard end == dataSize else {
            throw fail(.badOffsets, "data", "the data section has \(dataSize) bytes but the tensors end at \(end)")
        }
    }

    private static func tensor(_ name: String, _ value: Any, dataSize: Int,
                               _ fail: (SafetensorsError.Kind, String, String) -> SafetensorsError) throws -> SafetensorsTensorInfo {
        guard let entry = value as? [String: Any] else {
            throw fail(.invalidHeader, name, "expected an object with dtype, shape and data_offsets")
        }
        guard let dtypeName = entry["dtype"] as? String else { throw fail(.invalidHeader, "\(name).dtype", "expected a string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail(.unsupportedDType, "\(name).dtype", "'\(dtypeName)' is not supported; expected one of F32, F16, BF16")
        }
        guard let shapeList = entry["shape"] as? [Any] else {
            throw fail(.invalidHeader, "\(name).shape", "expected an array of non-negative integers")
        }
        let shape = try shapeList.map { v -> Int in
            guard let n = integer(v) else { throw fail(.invalidHeader, "\(name).shape", "expected non-negative integers, got \(shapeList)") }
            return n
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
            throw fail(.invalidHeader, "\(name).data_offsets", "expected [begin, end] as two non-negative integers")
        }
        guard begin <= end else { throw fail(.badOffsets, "\(name).data_offsets", "[\(begin), \(end)] ends before it begins") }
        guard end <= dataSize else {
            throw fail(.badOffsets, "\(name).data_offsets", "[\(begin), \(end)] runs past the data section (\(dataSize) bytes)")
        }
        var bytes = dtype.byteSize
        for dim in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw fail(.tooLarge, "\(name).shape", "\(shape) overflows the element count") }
            bytes = product
        }
        guard bytes == end - begin else {
            throw fail(.shapeMismatch, "\(name)",
                       "shape \(shape) of \(dtype.rawValue) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// A JSON number that is a non-negative integer below 2^53 (booleans excluded).
    static func integer(_ value: Any) -> Int? {
        // JSON booleans arrive as NSNumber too; their type code is "c".
        guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        let d = n.doubleValue
        guard d >= 0, d < 9_007_199_254_740_992, d.rounded(.towardZero) == d else { return nil }
        return Int(d)
    }
}
