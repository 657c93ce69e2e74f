import Foundation

/// Rotary position embedding over `[..., tokens, heads·headDim]`, rotary dim = head dim.
///
/// Pair `i` of every head (i < headDim/2) is rotated by the angle `pos · base^(−2i/headDim)`:
/// `(a, b) → (a·cos − b·sin, a·sin + b·cos)`. Which two elements form pair `i` depends on how
/// the checkpoint stores q/k (DESIGN.md §5):
/// - `.adjacent`: elements `2i` and `2i+1` (llama in GGUF, whose converter permutes q/k rows);
/// - `.halfSplit`: elements `i` and `i + headDim/2` (NEOX: qwen2, gemma3).
///
/// Positions are given per token, so a KV cache can pass offsets. Backward rotates by −θ.
public enum RoPE {
    public enum Pairing: Sendable, Equatable {
        case adjacent
        case halfSplit
    }

    /// cos/sin of the (position, pair) angles in double precision, rounded to float, shared by
    /// every layer that uses the same settings. The first `tabulatedPositions` positions are
    /// computed once; later ones (long contexts only) on the fly by the same formula, the same
    /// bits: a whole 32K-position table cost Gemma 3 64 MiB and ~0.3 s of every load.
    public struct Table: Sendable {
        public let base: Float
        public let headDim: Int
        public let maxPositions: Int
        /// Positions held in `cos`/`sin`.
        public static let tabulatedPositions = 4096
        /// `[min(maxPositions, tabulatedPositions), headDim/2]`, row-major.
        let cos: [Float]
        let sin: [Float]
        /// `base^(−2i/headDim)` of each pair i.
        let frequencies: [Double]

        public init(base: Float, headDim: Int, maxPositions: Int) throws {
            guard headDim > 0, headDim % 2 == 0 else {
                throw TensorError("RoPE.Table", "head dimension must be even and positive, got \(headDim)")
            }
            guard base > 0, maxPositions > 0 else {
                throw TensorError("RoPE.Table", "base (\(base)) and maxPositions (\(maxPositions)) must be positive")
            }
            self.base = base
            self.headDim = headDim
            self.maxPositions = maxPositions
            let half = headDim / 2, rows = min(maxPositions, Self.tabulatedPositions)
            let frequencies = (0..<half).map { i in Foundation.pow(Double(base), -2 * Double(i) / Double(headDim)) }
            var c = [Float](repeating: 0, count: rows * half)
            var s = c
            c.withUnsafeMutableBufferPointer { c in
                s.withUnsafeMutableBufferPointer { s in
                    for p in 0..<rows {
                        Self.angles(position: p, frequencies, cos: c.baseAddress! + p * half, sin: s.baseAddress! + p * half)
                    }
                }
            }
            cos = c
            sin = s
            self.frequencies = frequencies
        }

        /// cos and sin of position `p`'s angles into `cos[0 ..< headDim/2]`, `sin[…]`.
        static func angles(position p: Int, _ frequencies: [Double], cos: UnsafeMutablePointer<Float>,
                           sin: UnsafeMutablePointer<Float>) {
            for (i, frequency) in frequencies.enumerated() {
                let angle = Double(p) * frequency
                cos[i] = Float(Foundation.cos(angle))
                sin[i] = Float(Foundation.sin(angle))
            }
        }
    }

    /// `y = rotate(x, +θ)`. `x` is `[..., T, heads·headDim]`; `positions` has either one entry
    /// per token row of `x` (all leading dimensions folded) or `T` entries shared by every
    /// sequence of the batch.
    public static func forward(_ x: Tensor, positions: [Int32], table: Table, pairing: Pairing,
                               into y: inout Tensor) throws {
        let layout = try check(x, positions, table, "RoPE.forward")
        y.reuse(shape: x.shape)
        rotate(x.data, into: y.mutableData, accumulate: false, sign: 1, layout, positions, table, pairing)
    }

    public static func forward(_ x: Tensor, positions: [Int32], table: Table, pairing: Pairing) throws -> Tensor {
        var y = Tensor(zeros: [])
        try forward(x, positions: positions, table: table, pairing: pairing, into: &y)
        return y
    }

    /// Accumulates `dx += rotate(dy, −θ)` (the rotation is orthogonal, so its transpose is
    /// its inverse).
    public static func backward(dy: Tensor, positions: [Int32], table: Table, pairing: Pairing,
                                dx: inout Tensor?) throws {
        let layout = try check(dy, positions, table, "RoPE.backward")
        guard dx != nil else { return }
        try dx!.expectShape(dy.shape, "RoPE.backward", "dx")
        rotate(dy.data, into: dx!.mutableData, accumulate: true, sign: -1, layout, positions, table, pairing)
    }

    struct Layout {
        var rows: Int
        var width: Int
        var heads: Int
        var tokensPerSequence: Int
        var positionsPerSequence: Bool
    }

    private static func check(_ x: Tensor, _ positions: [Int32], _ table: Table, _ op: String) throws -> Layout {
        guard x.rank >= 2, let width = x.shape.last, width > 0, width % table.headDim == 0 else {
            throw TensorError.shapeMismatch(op, x.shape, [table.headDim],
                                            "input must be [..., T, heads·headDim] with headDim from the table")
        }
        let rows = x.count / width, tokens = x.shape[x.rank - 2]
        guard positions.count == rows || positions.count == tokens else {
            throw TensorError.shapeMismatch(op, [positions.count], x.shape,
                                            "positions need one entry per token row (\(rows)) or per sequence position (\(tokens))")
        }
        if let bad = positions.first(where: { $0 < 0 || Int($0) >= table.maxPositions }) {
            throw TensorError(op, "position \(bad) is outside the table's range 0..<\(table.maxPositions)")
        }
        return Layout(rows: rows, width: width, heads: width / table.headDim, tokensPerSequence: tokens,
                      positionsPerSequence: positions.count != rows)
    }

    /// The rotation kernel: `sign` +1 rotates by θ, −1 by −θ; `accumulate` adds into `out`.
    private static func rotate(_ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                               accumulate: Bool, sign: Float, _ layout: Layout, _ positions: [Int32],
                               _ table: Table, _ pairing: Pairing) {
        let half = table.headDim / 2, headDim = table.headDim
        // Element offsets of the two members of pair i within a head.
        let (firstStride, secondOffset) = pairing == .adjacent ? (2, 1) : (1, half)
        positions.withUnsafeBufferPointer { pos in
        table.cos.withUnsafeBufferPointer { cosTable in
        table.sin.withUnsafeBufferPointer { sinTable in
            Parallel.forEach(layout.rows, grain: max(1, 16384 / layout.width)) { range in
                // Angles of a position past the table: computed here, once per row.
                let computed = UnsafeMutablePointer<Float>.allocate(capacity: 2 * half)
                defer { computed.deallocate() }
                for r in range {
                    let p = Int(pos[layout.positionsPerSequence ? r % layout.tokensPerSequence : r])
                    let c: UnsafePointer<Float>, s: UnsafePointer<Float>
                    if p < Table.tabulatedPositions {
                        (c, s) = (cosTable.baseAddress! + p * half, sinTable.baseAddress! + p * half)
                    } else {
                        Table.angles(position: p, table.frequencies, cos: computed, sin: computed + half)
                        (c, s) = (UnsafePointer(computed), UnsafePointer(computed + half))
                    }
                    for h in 0..<layout.heads {
                        let o = r * layout.width + h * headDim
                        let src = input + o, dst = out + o
                        for i in 0..<half {
                            let ia = i * firstStride, ib = ia + secondOffset
                            let a = src[ia], b = src[ib], sn = sign * s[i]
                            let ra = a * c[i] - b * sn, rb = a * sn + b * c[i]
                            if accumulate {
                                dst[ia] += ra
                                dst[ib] += rb
                            } else {
                                dst[ia] = ra
                                dst[ib] = rb
                            }
                        }
                    }
                }
            }
        }
        }
        }
    }
}
