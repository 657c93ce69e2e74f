/// A deterministic parallel sum: `count` items are split into `Parallel`'s chunks, each
/// chunk's partial is computed on its own core, and the partials are added in chunk order,
/// so the same thread count always gives the bit-identical total.
enum ChunkedSum {
    static func run(_ count: Int, grain: Int, _ partial: (Range<Int>) -> Double) -> Double {
        let chunks = Parallel.chunkCount(count, grain: grain)
        guard chunks > 1 else { return count > 0 ? partial(0..<count) : 0 }
        var partials = [Double](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { slots in
            let slots = slots.baseAddress!
            // chunks ≤ threads, so every index below runs as its own chunk.
            Parallel.forEach(chunks, grain: 1) { indices in
                for c in indices { slots[c] = partial(Parallel.chunkRange(c, of: chunks, count: count)) }
            }
        }
        return partials.reduce(0, +)
    }
}
