/// Token embedding: row lookup in a `[vocab, d]` table by `Int32` token ids.
///
/// `ids` hold any leading shape in row-major order (`idsShape`, default `[ids.count]`); the
/// output is `idsShape + [d]`. A `GatherRows` with token-id checks and a shaped result.
public enum Embedding {
    public static func forward(ids: [Int32], idsShape: [Int]? = nil, table: Tensor,
                               into out: inout Tensor) throws {
        let (vocab, d) = try tableDims(table, "Embedding.forward")
        let leading = try leadingShape(ids, idsShape, "Embedding.forward")
        try checkRange(ids, vocab: vocab, "Embedding.forward")
        try GatherRows.forward(table: table, indices: ids, into: &out)
        out = try out.reshaped(leading + [d])
    }

    public static func forward(ids: [Int32], idsShape: [Int]? = nil, table: Tensor) throws -> Tensor {
        var out = Tensor(zeros: [])
        try forward(ids: ids, idsShape: idsShape, table: table, into: &out)
        return out
    }

    /// Scatter-adds `dTable[ids[p]] += dy[p]` (nil = not needed, a frozen table). Positions
    /// are added in order and columns split across cores, so repeated ids give the same sum
    /// whatever the thread count.
    public static func backward(dy: Tensor, ids: [Int32], dTable: inout Tensor?) throws {
        guard dTable != nil else { return }
        let (vocab, d) = try tableDims(dTable!, "Embedding.backward")
        guard dy.rank >= 1, dy.shape.last == d, dy.count == ids.count * d else {
            throw TensorError.shapeMismatch("Embedding.backward", dy.shape, dTable!.shape,
                                            "dy must be [\(ids.count) ids…, d] for a [vocab, d] table")
        }
        try checkRange(ids, vocab: vocab, "Embedding.backward")
        try GatherRows.backward(dy: dy.reshaped([ids.count, d]), indices: ids, dTable: &dTable)
    }

    private static func tableDims(_ table: Tensor, _ op: String) throws -> (vocab: Int, d: Int) {
        guard table.rank == 2 else {
            throw TensorError(op, "table must be [vocab, d], got \(table.shape)")
        }
        return (table.shape[0], table.shape[1])
    }

    static func leadingShape(_ ids: [Int32], _ idsShape: [Int]?, _ op: String) throws -> [Int] {
        guard let idsShape else { return [ids.count] }
        guard idsShape.allSatisfy({ $0 >= 0 }), idsShape.reduce(1, *) == ids.count else {
            throw TensorError(op, "\(ids.count) ids cannot have shape \(idsShape)")
        }
        return idsShape
    }

    static func checkRange(_ ids: [Int32], vocab: Int, _ op: String) throws {
        for (position, id) in ids.enumerated() where id < 0 || Int(id) >= vocab {
            throw TensorError(op, "token id \(id) at position \(position) is outside the vocabulary of size \(vocab)")
        }
    }
}
