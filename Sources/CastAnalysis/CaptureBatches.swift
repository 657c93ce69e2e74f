/// How a capture groups its sequences into forward passes: consecutive sequences while
/// their rows, padded to the longest, stay within `batchRows` (one sequence at least).
/// Shared with `cast bench analysis`, whose plain forward runs the same passes.
public enum CaptureBatches {
    /// Index ranges of `lengths`, one per pass, in order.
    public static func plan(_ lengths: [Int], batchRows: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < lengths.count {
            var end = start, longest = 0
            while end < lengths.count {
                let n = lengths[end]
                if end > start && (end - start + 1) * max(longest, n) > batchRows { break }
                longest = max(longest, n)
                end += 1
            }
            out.append(start..<end)
            start = end
        }
        return out
    }
}
