/// The key/value metadata of a GGUF file, with typed accessors.
///
/// Accessors throw a `GGUFError` naming the key and the expected versus actual type when a
/// key is missing or holds another type. Integer accessors accept any integer type whose
/// value fits; float accessors accept float32/float64 (and integers, converted).
public struct GGUFMetadata: Sendable {
    /// Keys in file order.
    public let keys: [String]
    private let values: [String: GGUFValue]
    /// The file the metadata came from, for error messages.
    public let file: String

    init(keys: [String], values: [String: GGUFValue], file: String) {
        self.keys = keys
        self.values = values
        self.file = file
    }

    public var count: Int { keys.count }
    public func contains(_ key: String) -> Bool { values[key] != nil }
    public subscript(key: String) -> GGUFValue? { values[key] }

    /// The raw value; throws `missingKey` when absent.
    public func value(_ key: String) throws -> GGUFValue {
        guard let v = values[key] else {
            throw GGUFError(.missingKey, file: file, offset: nil, field: key, "metadata key is missing")
        }
        return v
    }

    private func mismatch(_ key: String, expected: String, actual: GGUFValue) -> GGUFError {
        GGUFError(.typeMismatch, file: file, offset: nil, field: key,
                  "expected \(expected), found \(actual.typeDescription)")
    }

    // MARK: scalars

    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw mismatch(key, expected: "string", actual: v) }
        return s
    }

    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.intValue else { throw mismatch(key, expected: "an integer that fits in Int", actual: v) }
        return i
    }

    public func float(_ key: String) throws -> Float {
        let v = try value(key)
        switch v {
        case .float32(let f): return f
        case .float64(let d): return Float(d)
        default:
            if let i = v.intValue { return Float(i) }
            throw mismatch(key, expected: "float32 or float64", actual: v)
        }
    }

    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard case .bool(let b) = v else { throw mismatch(key, expected: "bool", actual: v) }
        return b
    }

    // MARK: arrays

    public func array(_ key: String) throws -> GGUFArray {
        let v = try value(key)
        guard case .array(let a) = v else { throw mismatch(key, expected: "array", actual: v) }
        return a
    }

    public func strings(_ key: String) throws -> [String] {
        let v = try value(key)
        guard case .array(.string(let a)) = v else { throw mismatch(key, expected: "array<string>", actual: v) }
        return a
    }

    public func floats(_ key: String) throws -> [Float] {
        let v = try value(key)
        switch v {
        case .array(.float32(let a)): return a
        case .array(.float64(let a)): return a.map { Float($0) }
        default: throw mismatch(key, expected: "array<float32> or array<float64>", actual: v)
        }
    }

    public func int32s(_ key: String) throws -> [Int32] {
        let v = try value(key)
        guard case .array(.int32(let a)) = v else { throw mismatch(key, expected: "array<int32>", actual: v) }
        return a
    }

    public func ints(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard case .array(let a) = v, let ints = a.intValues else {
            throw mismatch(key, expected: "array of integers that fit in Int", actual: v)
        }
        return ints
    }

    public func bools(_ key: String) throws -> [Bool] {
        let v = try value(key)
        guard case .array(.bool(let a)) = v else { throw mismatch(key, expected: "array<bool>", actual: v) }
        return a
    }

    // MARK: optional keys (nil when absent, still an error when the type is wrong)

    public func stringIfPresent(_ key: String) throws -> String? { contains(key) ? try string(key) : nil }
    public func intIfPresent(_ key: String) throws -> Int? { contains(key) ? try int(key) : nil }
    public func floatIfPresent(_ key: String) throws -> Float? { contains(key) ? try float(key) : nil }
    public func boolIfPresent(_ key: String) throws -> Bool? { contains(key) ? try bool(key) : nil }
    public func stringsIfPresent(_ key: String) throws -> [String]? { contains(key) ? try strings(key) : nil }
    public func floatsIfPresent(_ key: String) throws -> [Float]? { contains(key) ? try floats(key) : nil }
    public func int32sIfPresent(_ key: String) throws -> [Int32]? { contains(key) ? try int32s(key) : nil }
}
