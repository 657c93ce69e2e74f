/// Cuts special tokens out of raw text before BPE, as llama.cpp's `tokenizer_st_partition`:
/// special tokens are taken longest first, each one splitting every remaining text fragment
/// at all its occurrences from left to right.
///
/// Control and unknown tokens are only recognised when `parseSpecial` is set; user-defined
/// tokens always are. Only tokens that occur in the text are tried (found with a trie), so a
/// vocabulary with thousands of special tokens costs no more than one with a few.
struct SpecialTokenSplitter: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private struct Entry { var id: Int; var bytes: [UInt8]; var alwaysParsed: Bool }

    private let entries: [Entry]
    /// Trie over entry bytes: key (node << 8 | byte) → child node; terminal node → entry index.
    private let children: [Int: Int32]
    private let terminal: [Int32: Int]
    private let leftStrip: Set<Int>
    private let rightStrip: Set<Int>

    init(vocabulary v: TokenizerVocabulary, attributes: [TokenAttributes]) {
        var entries: [Entry] = []
        for id in 0..<v.count {
            let a = attributes[id]
            guard a.contains(.control) || a.contains(.userDefined) || a.contains(.unknown) else { continue }
            let bytes = Array(v.tokens[id].utf8)
            guard !bytes.isEmpty else { continue }
            entries.append(Entry(id: id, bytes: bytes, alwaysParsed: !a.contains(.control) && !a.contains(.unknown)))
        }
        var children: [Int: Int32] = [:]
        var terminal: [Int32: Int] = [:]
        var nodeCount: Int32 = 1
        for (index, e) in entries.enumerated() {
            var node: Int32 = 0
            for b in e.bytes {
                let key = Int(node) << 8 | Int(b)
                if let child = children[key] {
                    node = child
                } else {
                    children[key] = nodeCount
                    node = nodeCount
                    nodeCount += 1
                }
            }
            terminal[node] = index   // a later duplicate text replaces an earlier one
        }
        self.entries = entries
        self.children = children
        self.terminal = terminal
        leftStrip = v.leftStripTokens
        rightStrip = v.rightStripTokens
    }

    func split(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = text.count
        if n == 0 { return [] }
        // Which special tokens occur anywhere in the text.
        var present = Set<Int>()
        for start in 0..<n {
            var node: Int32 = 0
            var i = start
            while i < n, let child = children[Int(node) << 8 | Int(text[i])] {
                node = child
                i += 1
                if let e = terminal[node], parseSpecial || entries[e].alwaysParsed { present.insert(e) }
            }
        }
        var fragments: [Fragment] = [.text(0..<n)]
        if present.isEmpty { return fragments }
        let order = present.sorted { a, b in
            entries[a].bytes.count != entries[b].bytes.count
                ? entries[a].bytes.count > entries[b].bytes.count : entries[a].id < entries[b].id
        }
        for e in order {
            let entry = entries[e]
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard case .text(let range) = fragment else { next.append(fragment); continue }
                splitFragment(text, range, entry, into: &next)
            }
            fragments = next
        }
        return fragments
    }

    private func splitFragment(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ entry: Entry,
                               into out: inout [Fragment]) {
        let needle = entry.bytes
        var cursor = range.lowerBound
        let end = range.upperBound
        while let match = Self.find(needle, in: text, from: cursor, to: end) {
            var leftEnd = match
            if leftStrip.contains(entry.id) {
                while leftEnd > cursor && Self.isCSpace(text[leftEnd - 1]) { leftEnd -= 1 }
            }
            if leftEnd > cursor { out.append(.text(cursor..<leftEnd)) }
            out.append(.token(entry.id))
            cursor = match + needle.count
            if rightStrip.contains(entry.id) {
                while cursor < end && Self.isCSpace(text[cursor]) { cursor += 1 }
            }
        }
        if cursor < end { out.append(.text(cursor..<end)) }
    }

    private static func find(_ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        let m = needle.count
        guard to - from >= m else { return nil }
        let first = needle[0]
        var i = from
        while i <= to - m {
            if text[i] == first {
                var j = 1
                while j < m && text[i + j] == needle[j] { j += 1 }
                if j == m { return i }
            }
            i += 1
        }
        return nil
    }

    /// C `isspace` in the C locale.
    private static func isCSpace(_ b: UInt8) -> Bool { b == 32 || (b >= 9 && b <= 13) }
}
