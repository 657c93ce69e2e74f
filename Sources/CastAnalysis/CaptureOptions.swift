/// What a capture keeps and how much of it.
public struct CaptureOptions: Sendable {
    /// Keep the selected rows themselves (`[tokens, width]` per point).
    public var keepRows: Bool
    /// Accumulate each point's mean and covariance in double precision (what PCA reads),
    /// over the same selected rows as `keepRows` (so `budget` bounds both); with `keepRows`
    /// off, memory stays the same however many rows are read.
    public var statistics: Bool
    public var positions: PositionSelector
    /// At most this many rows in all (nil: no limit). The capture stops reading sequences
    /// once it is reached.
    public var budget: Int?
    public var subsampling: Subsampling
    /// Sequences run together in one pass while their padded rows stay under this (one
    /// 1024-token window per pass: a pass's buffers, not the model, dominate the memory a
    /// capture adds, and larger passes run no faster).
    public var batchRows: Int

    public init(keepRows: Bool = true, statistics: Bool = false, positions: PositionSelector = .all,
                budget: Int? = nil, subsampling: Subsampling = .none, batchRows: Int = 1024) {
        self.keepRows = keepRows
        self.statistics = statistics
        self.positions = positions
        self.budget = budget
        self.subsampling = subsampling
        self.batchRows = batchRows
    }
}

/// Which of the selected rows to keep: all, every k-th, or a seeded random fraction. The
/// decision depends only on the sequence and the row's rank among its selected rows, so two
/// models reading the same texts (positions paired by alignment) keep the same pairs.
public enum Subsampling: Equatable, Sendable {
    case none
    case every(Int)
    case fraction(Double, seed: UInt64)

    func keeps(sequence: Int, rank: Int) -> Bool {
        switch self {
        case .none: return true
        case .every(let k): return rank % max(k, 1) == 0
        case .fraction(let p, let seed):
            var z = seed &+ UInt64(truncatingIfNeeded: sequence) &* 0x9E37_79B9_7F4A_7C15
                &+ UInt64(truncatingIfNeeded: rank) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53) < p
        }
    }
}
