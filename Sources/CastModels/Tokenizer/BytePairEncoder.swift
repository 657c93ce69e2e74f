/// Byte-level BPE over one pre-tokenized word: start from one symbol per byte and repeatedly
/// merge the adjacent pair with the lowest merge rank (leftmost on ties), as llama.cpp does.
///
/// Symbols carry ids so that a merge is one hash lookup keyed by the id pair. Ids below the
/// vocabulary size are tokens; byte strings that appear in merges but are not tokens get
/// synthetic ids above it, so merge order stays exactly that of the string-keyed original.
struct BytePairEncoder: Sendable {
    private struct Merge { var rank: Int32; var result: Int32 }

    private let merges: [UInt64: Merge]
    /// Symbol id of each single byte.
    private let byteSymbols: [Int32]
    /// Bytes of synthetic symbols (index = id - vocabularyCount).
    private let syntheticBytes: [[UInt8]]
    private let vocabularyCount: Int
    /// Tokens llama.cpp falls back to for a symbol that is not a token: one per printable
    /// ASCII byte (other bytes are dropped, as there).
    private let asciiFallback: [Int32?]

    /// - Parameters:
    ///   - tokenBytes: raw bytes of every token (GPT-2 map already undone).
    ///   - table: raw bytes → token id.
    init(tokenBytes: [[UInt8]], table: ByteStringTable, merges mergeStrings: [String]) throws {
        vocabularyCount = tokenBytes.count
        var synthetic: [[UInt8]] = []
        var syntheticIds: [[UInt8]: Int32] = [:]
        let count = tokenBytes.count
        func symbol(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
            if let id = table.lookup(bytes) { return id }
            let key = Array(bytes)
            if let id = syntheticIds[key] { return id }
            let id = Int32(count + synthetic.count)
            synthetic.append(key)
            syntheticIds[key] = id
            return id
        }
        byteSymbols = (0..<256).map { b in [UInt8(b)].withUnsafeBufferPointer { symbol($0) } }
        var map: [UInt64: Merge] = [:]
        map.reserveCapacity(mergeStrings.count)
        var bytes: [UInt8] = []
        for (rank, line) in mergeStrings.enumerated() {
            // "left right": split at the first space after the first character, as llama.cpp
            // does, decoding both parts to raw bytes in the same pass (one buffer, no Strings).
            bytes.removeAll(keepingCapacity: true)
            var split: Int? = nil, decodable = true
            for (i, scalar) in line.unicodeScalars.enumerated() {
                if split == nil, i > 0, scalar == " " {
                    split = bytes.count
                } else if let byte = ByteLevelEncoding.byte(scalar) {
                    bytes.append(byte)
                } else {
                    decodable = false
                }
            }
            guard let split else {
                throw TokenizerError.invalidVocabulary("merge \(rank) '\(line)' has no space separating its two parts")
            }
            // A part outside the byte map can never be formed from bytes.
            guard decodable else { continue }
            let (key, result) = bytes.withUnsafeBufferPointer { all in
                (Self.key(symbol(UnsafeBufferPointer(rebasing: all[..<split])), symbol(UnsafeBufferPointer(rebasing: all[split...]))),
                 symbol(all))
            }
            if map[key] == nil {   // the first rank wins on duplicates
                map[key] = Merge(rank: Int32(rank), result: result)
            }
        }
        merges = map
        syntheticBytes = synthetic
        asciiFallback = (0..<256).map { b in
            (0x21...0x7E).contains(b) ? table.lookup([UInt8(b)]) : nil
        }
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    private struct Symbol { var id: Int32; var prev: Int32; var next: Int32 }
    private struct Candidate { var rank: Int32; var left: Int32; var leftId: Int32; var rightId: Int32 }

    /// Appends the token ids of one word (raw bytes) to `output`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        let n = word.count
        if n == 0 { return }
        var symbols = [Symbol]()
        symbols.reserveCapacity(n)
        for i in 0..<n {
            symbols.append(Symbol(id: byteSymbols[Int(word[i])], prev: Int32(i - 1), next: i + 1 < n ? Int32(i + 1) : -1))
        }
        var heap = MinHeap<Candidate> { a, b in a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
        func consider(_ left: Int32) {
            guard left >= 0 else { return }
            let right = symbols[Int(left)].next
            guard right >= 0 else { return }
            let l = symbols[Int(left)].id, r = symbols[Int(right)].id
            if let m = merges[Self.key(l, r)] {
                heap.push(Candidate(rank: m.rank, left: left, leftId: l, rightId: r))
            }
        }
        for i in 0..<(n - 1) { consider(Int32(i)) }
        while let c = heap.pop() {
            let li = Int(c.left)
            let ri = Int(symbols[li].next)
            // Skip candidates made stale by an earlier merge (dead or changed symbols).
            guard symbols[li].id == c.leftId, ri >= 0, symbols[ri].id == c.rightId else { continue }
            symbols[li].id = merges[Self.key(c.leftId, c.rightId)]!.result
            symbols[ri].id = -1
            let after = symbols[ri].next
            symbols[li].next = after
            if after >= 0 { symbols[Int(after)].prev = c.left }
            consider(symbols[li].prev)
            consider(c.left)
        }
        var i: Int32 = 0
        while i >= 0 {
            let id = symbols[Int(i)].id
            if Int(id) < vocabularyCount {
                output.append(Int(id))
            } else {
                for b in syntheticBytes[Int(id) - vocabularyCount] {
                    if let t = asciiFallback[Int(b)] { output.append(Int(t)) }
                }
            }
            i = symbols[Int(i)].next
        }
    }
}

/// A binary heap ordered by `less` (smallest first).
struct MinHeap<Element> {
    private var items: [Element] = []
    private let less: (Element, Element) -> Bool

    init(less: @escaping (Element, Element) -> Bool) { self.less = less }

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && less(items[l], items[m]) { m = l }
                if r < n && less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
