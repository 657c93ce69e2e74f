/// Splits text into words before byte-level BPE, reproducing llama.cpp's hand-written
/// matchers for the `gpt-2`, `smollm`, `qwen2` and `llama3` regexes (unicode.cpp) with the same
/// character classes: \p{L}, \p{N} by general category, \s by the Unicode White_Space set.
enum PreTokenizer: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every \p{N} isolated first, then the gpt-2 regex inside each piece.
    case smollm
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case qwen2
    /// As qwen2 with `\p{N}{1,3}`.
    case llama3

    init(name: String) throws {
        switch name {
        case "gpt-2", "gpt2": self = .gpt2
        case "smollm": self = .smollm
        case "qwen2": self = .qwen2
        case "llama3", "llama-v3", "llama-bpe": self = .llama3
        default: throw TokenizerError.unsupported("pre-tokenizer '\(name)' (supported: gpt-2, smollm, qwen2, llama3)")
        }
    }

    /// Character class of a code point; 0 is reserved for "outside the piece".
    struct CharClass: OptionSet {
        let rawValue: UInt8
        static let letter = CharClass(rawValue: 1)
        static let number = CharClass(rawValue: 2)
        static let whitespace = CharClass(rawValue: 4)
        static let other = CharClass(rawValue: 8)
    }

    static func charClass(_ scalar: Unicode.Scalar) -> CharClass {
        let v = scalar.value
        if v < 128 { return asciiClasses[Int(v)] }
        if whitespace.contains(v) { return .whitespace }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Unicode White_Space (the set llama.cpp uses for \s).
    private static let whitespace: Set<UInt32> = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000]

    private static let asciiClasses: [CharClass] = (0..<128).map { v -> CharClass in
        let c = UInt8(v)
        if whitespace.contains(UInt32(v)) { return .whitespace }
        if (c >= 65 && c <= 90) || (c >= 97 && c <= 122) { return .letter }
        if c >= 48 && c <= 57 { return .number }
        return .other
    }

    /// Word boundaries as code-point offsets: returns the end index of each word, in order.
    func split(_ scalars: [UInt32], classes: [CharClass]) -> [Int] {
        var ends: [Int] = []
        ends.reserveCapacity(scalars.count / 3 + 1)
        switch self {
        case .gpt2:
            Self.splitGPT2(scalars, classes, 0, scalars.count, into: &ends)
        case .smollm:
            // Isolate each number code point, then run the gpt-2 rules inside each piece.
            var start = 0
            for i in 0..<scalars.count where classes[i] == .number {
                if i > start { Self.splitGPT2(scalars, classes, start, i, into: &ends) }
                ends.append(i + 1)
                start = i + 1
            }
            if start < scalars.count { Self.splitGPT2(scalars, classes, start, scalars.count, into: &ends) }
        case .qwen2:
            Self.splitLlama3Style(scalars, classes, 0, scalars.count, maxDigits: 1, into: &ends)
        case .llama3:
            Self.splitLlama3Style(scalars, classes, 0, scalars.count, maxDigits: 3, into: &ends)
        }
        return ends
    }

    private static let apostrophe = UInt32(UInt8(ascii: "'"))
    private static let space = UInt32(UInt8(ascii: " "))
    private static let cr = UInt32(UInt8(ascii: "\r"))
    private static let lf = UInt32(UInt8(ascii: "\n"))

    /// Length of a contraction (`'s`, `'re`, …) starting at `pos`, or 0.
    private static func contraction(_ s: [UInt32], _ pos: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard s[pos] == apostrophe, pos + 1 < end else { return 0 }
        func letter(_ i: Int) -> UInt32 {
            let v = s[i]
            return caseInsensitive && v >= 65 && v <= 90 ? v + 32 : v
        }
        let n = letter(pos + 1)
        if n == 115 || n == 116 || n == 109 || n == 100 { return 2 }   // s t m d
        if pos + 2 < end {
            let nn = letter(pos + 2)
            if (n == 114 && nn == 101) || (n == 118 && nn == 101) || (n == 108 && nn == 108) { return 3 } // re ve ll
        }
        return 0
    }

    private static func splitGPT2(_ s: [UInt32], _ cls: [CharClass], _ start: Int, _ end: Int, into ends: inout [Int]) {
        func classAt(_ i: Int) -> CharClass { i < end ? cls[i] : [] }
        var pos = start
        while pos < end {
            let c = s[pos]
            let k = contraction(s, pos, end, caseInsensitive: false)
            if k > 0 { pos += k; ends.append(pos); continue }
            let lead = c == space ? 1 : 0
            let cls2 = c == space ? classAt(pos + 1) : cls[pos]
            if cls2 == .letter || cls2 == .number || cls2 == .other {
                pos += lead
                while classAt(pos) == cls2 { pos += 1 }
                ends.append(pos)
                continue
            }
            var n = 0
            while classAt(pos + n) == .whitespace { n += 1 }
            if n > 1 && pos + n < end {
                pos += n - 1           // \s+(?!\S): leave the last space for the next word
            } else if n > 0 {
                pos += n
            } else {
                pos += 1
            }
            ends.append(pos)
        }
    }

    private static func splitLlama3Style(_ s: [UInt32], _ cls: [CharClass], _ start: Int, _ end: Int,
                                         maxDigits: Int, into ends: inout [Int]) {
        func classAt(_ i: Int) -> CharClass { i < end ? cls[i] : [] }
        func scalarAt(_ i: Int) -> UInt32 { i < end ? s[i] : UInt32.max }
        var pos = start
        while pos < end {
            let c = s[pos]
            let cl = cls[pos]
            let k = contraction(s, pos, end, caseInsensitive: true)
            if k > 0 { pos += k; ends.append(pos); continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == cr || c == lf || cl == .number), cl == .letter || classAt(pos + 1) == .letter {
                pos += 1
                while classAt(pos) == .letter { pos += 1 }
                ends.append(pos)
                continue
            }
            // \p{N}{1,maxDigits}
            if cl == .number {
                var n = 0
                while n < maxDigits && classAt(pos) == .number { pos += 1; n += 1 }
                ends.append(pos)
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (a lone trailing space also lands here, as in llama.cpp)
            let cls2 = c == space ? classAt(pos + 1) : cl
            if cls2 == .other || cls2 == [] {
                if c == space { pos += 1 }
                while classAt(pos) == .other { pos += 1 }
                while scalarAt(pos) == cr || scalarAt(pos) == lf { pos += 1 }
                ends.append(pos)
                continue
            }
            var n = 0
            var lastLineBreakEnd = 0
            while classAt(pos + n) == .whitespace {
                if s[pos + n] == cr || s[pos + n] == lf { lastLineBreakEnd = pos + n + 1 }
                n += 1
            }
            if lastLineBreakEnd > 0 {
                pos = lastLineBreakEnd      // \s*[\r\n]+
            } else if n > 1 && pos + n < end {
                pos += n - 1                // \s+(?!\S)
            } else if n > 0 {
                pos += n                    // \s+
            } else {
                pos += 1
            }
            ends.append(pos)
        }
    }
}
