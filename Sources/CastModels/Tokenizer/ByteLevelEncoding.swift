/// GPT-2's reversible map between bytes and printable Unicode characters: printable Latin-1
/// bytes stand for themselves, the other 68 bytes become U+0100, U+0101, … in byte order.
/// Byte-level BPE vocabularies store tokens in this form (a space is `Ġ`, a newline `Ċ`).
enum ByteLevelEncoding {
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each scalar up to the largest in `byteToScalar` stands for (−1: none); an
    /// array, as tokenizers decode every token and merge of a vocabulary at load.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: Int(byteToScalar.max()!) + 1)
        for (byte, scalar) in byteToScalar.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// The byte `scalar` stands for; nil if it is outside the map.
    @inline(__always)
    static func byte(_ scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
        return UInt8(scalarToByte[v])
    }

    /// Raw bytes of a byte-level token string; nil if a character is outside the map.
    static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }
}
