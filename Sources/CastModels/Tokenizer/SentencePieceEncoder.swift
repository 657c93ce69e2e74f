/// SentencePiece BPE (llama.cpp's SPM tokenizer): start from one symbol per UTF-8 character
/// and repeatedly merge the adjacent pair whose concatenation is a token with the highest
/// score (leftmost on ties); characters left without a token fall back to `<0xXX>` bytes.
struct SentencePieceEncoder: Sendable {
    private let table: ByteStringTable
    private let scores: [Float]
    private let byteTokens: [Int?]

    init(table: ByteStringTable, scores: [Float], tokens: [String]) {
        self.table = table
        self.scores = scores
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { b -> Int? in
            let name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            if let id = table.lookup(name) { return Int(id) }
            return table.lookup([UInt8(b)]).map(Int.init)
        }
    }

    private struct Symbol { var start: Int32; var length: Int32; var prev: Int32; var next: Int32 }
    private struct Candidate { var score: Float; var left: Int32; var right: Int32; var size: Int32 }

    /// Appends the ids for `text` (spaces already escaped to `▁`).
    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int]) {
        let n = text.count
        if n == 0 { return }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(n)
        var offset = 0
        while offset < n {
            let lead = text[offset]
            let len = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - offset)
            let index = symbols.count
            offset += len
            symbols.append(Symbol(start: Int32(offset - len), length: Int32(len), prev: Int32(index - 1),
                                  next: offset == n ? -1 : Int32(index + 1)))
        }
        var heap = MinHeap<Candidate> { a, b in a.score > b.score || (a.score == b.score && a.left < b.left) }
        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = symbols[Int(left)], r = symbols[Int(right)]
            let size = Int(l.length + r.length)
            let slice = UnsafeBufferPointer(rebasing: text[Int(l.start)..<(Int(l.start) + size)])
            guard let id = table.lookup(slice) else { return }
            heap.push(Candidate(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
        }
        for i in 1..<symbols.count { consider(Int32(i - 1), Int32(i)) }
        while let c = heap.pop() {
            let li = Int(c.left), ri = Int(c.right)
            let l = symbols[li], r = symbols[ri]
            guard l.length > 0, r.length > 0, l.length + r.length == c.size else { continue }
            symbols[li].length += r.length
            symbols[ri].length = 0
            symbols[li].next = r.next
            if r.next >= 0 { symbols[Int(r.next)].prev = c.left }
            consider(symbols[li].prev, c.left)
            consider(c.left, symbols[li].next)
        }
        var i: Int32 = 0
        while i >= 0 {
            let s = symbols[Int(i)]
            let slice = UnsafeBufferPointer(rebasing: text[Int(s.start)..<Int(s.start + s.length)])
            if let id = table.lookup(slice) {
                output.append(Int(id))
            } else {
                for b in slice { if let t = byteTokens[Int(b)] { output.append(t) } }
            }
            i = s.next
        }
    }
}
