import CastTensor

/// The keys and values one sequence has produced, for every layer, so generation computes
/// each token once. Buffers grow by doubling and are reused when the cache is reset.
public final class KVCache {
    public let layerCount: Int
    public let kvWidth: Int
    /// Tokens committed to the cache (the position of the next token).
    public private(set) var length = 0
    var keys: [Tensor]
    var values: [Tensor]

    public init(config: ModelConfig) {
        layerCount = config.layerCount
        kvWidth = config.kvWidth
        keys = Array(repeating: Tensor(zeros: [0, config.kvWidth]), count: config.layerCount)
        values = keys
    }

    /// Forgets every token, keeping the buffers.
    public func reset() { length = 0 }

    /// Drops tokens after `newLength` (e.g. to retry from a shared prompt).
    public func truncate(to newLength: Int) { length = min(length, max(0, newLength)) }

    /// Makes the new rows of layer `layer` visible: writes `count` key/value rows taken from
    /// `k`/`v` at `sourceRow` after the committed ones. Returns the key/value tensors
    /// `[length + count, kvWidth]` to attend to.
    func append(layer: Int, k: Tensor, v: Tensor, sourceRow: Int, count: Int) -> (keys: Tensor, values: Tensor) {
        let rows = length + count
        keys[layer].resize(to: [rows, kvWidth], keeping: length * kvWidth)
        values[layer].resize(to: [rows, kvWidth], keeping: length * kvWidth)
        keys[layer].mutableData.advanced(by: length * kvWidth)
            .update(from: k.data + sourceRow * kvWidth, count: count * kvWidth)
        values[layer].mutableData.advanced(by: length * kvWidth)
            .update(from: v.data + sourceRow * kvWidth, count: count * kvWidth)
        return (keys[layer], values[layer])
    }

    /// Called once every layer has appended `count` rows.
    func commit(_ count: Int) { length += count }
}

/// The caches of a batch of sequences and which rows of a forward pass belong to which.
public struct KVCacheBatch {
    public var caches: [KVCache]
    /// Rows `[start, start + count)` of the forward pass belong to `caches[i]`.
    public var segments: [(cache: Int, start: Int, count: Int)]

    public init(caches: [KVCache], segments: [(cache: Int, start: Int, count: Int)]) {
        self.caches = caches
        self.segments = segments
    }

    /// Throws unless the segments cover rows `0..<rows` in order, each non-empty and naming
    /// a different cache of the batch.
    func validate(rows: Int, model: String) throws {
        var next = 0
        var seen = Set<Int>()
        for (i, s) in segments.enumerated() {
            guard s.start == next, s.count > 0, caches.indices.contains(s.cache), seen.insert(s.cache).inserted else {
                throw ModelError.invalidInput(
                    "\(model): KV cache segment \(i) (cache \(s.cache), rows \(s.start)..<\(s.start + s.count)) is invalid: "
                    + "segments must be non-empty, follow each other from row 0 and name distinct caches of the \(caches.count)")
            }
            next += s.count
        }
        guard next == rows else {
            throw ModelError.invalidInput("\(model): KV cache segments cover \(next) rows, the ids have \(rows)")
        }
    }

    /// Positions of every row: each segment continues where its cache left off.
    var positions: [Int32] {
        var p: [Int32] = []
        for s in segments { p += (0..<s.count).map { Int32(caches[s.cache].length + $0) } }
        return p
    }

    /// Appends each segment's keys/values to its cache and attends its queries to them.
    func attend(layer: Int, queries: Tensor, keys: Tensor, values: Tensor,
                config: Attention.Config, into out: inout Tensor) throws {
        let rows = queries.shape[0], qWidth = queries.shape[1]
        out.reuse(shape: [rows, qWidth])
        var q = Tensor(), attended = Tensor(), noProbabilities: Tensor? = nil
        for s in segments {
            let cached = caches[s.cache].append(layer: layer, k: keys, v: values, sourceRow: s.start, count: s.count)
            let total = cached.keys.shape[0]
            if segments.count == 1 {
                q = try queries.reshaped([1, rows, qWidth])
            } else {
                q.reuse(shape: [1, s.count, qWidth])
                q.mutableData.update(from: queries.data + s.start * qWidth, count: s.count * qWidth)
            }
            try Attention.forward(q: q, k: cached.keys.reshaped([1, total, cached.keys.shape[1]]),
                                  v: cached.values.reshaped([1, total, cached.values.shape[1]]),
                                  config: config, into: &attended, probabilities: &noProbabilities)
            out.mutableData.advanced(by: s.start * qWidth).update(from: attended.data, count: s.count * qWidth)
        }
    }

    /// After a forward pass: every cache now holds its segment's tokens.
    func commit() {
        for s in segments { caches[s.cache].commit(s.count) }
    }
}
