import Testing
@testable import CastTensor

/// Index arithmetic for the naive references of the general ops: written out element by
/// element, independent of the engine's merged-dimension plans.
enum Naive {
    static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for k in shape.indices.reversed() {
            index[k] = rest % shape[k]
            rest /= shape[k]
        }
        return index
    }

    static func flatIndex(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    /// The element of an operand of `shape` that numpy broadcasting reads for output `index`.
    static func broadcastSource(_ index: [Int], _ shape: [Int]) -> Int {
        let lead = index.count - shape.count
        let own = shape.indices.map { shape[$0] == 1 ? 0 : index[lead + $0] }
        return flatIndex(own, shape)
    }

    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { $0 == 1 ? $1 : $0 }
    }

    /// The operand elements numpy broadcasting pairs up for each output element, in Double.
    static func broadcastPairs(_ a: Tensor, _ b: Tensor) -> (shape: [Int], pairs: [(Double, Double)]) {
        let shape = broadcastShape(a.shape, b.shape)
        let pairs = (0..<shape.reduce(1, *)).map { i -> (Double, Double) in
            let index = multiIndex(i, shape)
            return (Double(a.data[broadcastSource(index, a.shape)]), Double(b.data[broadcastSource(index, b.shape)]))
        }
        return (shape, pairs)
    }

    /// Largest `|x − ref| / max(1, |ref|)`.
    static func maxRelativeError(_ x: Tensor, _ ref: [Double]) -> Double {
        #expect(x.count == ref.count)
        var m = 0.0
        for i in 0..<min(x.count, ref.count) { m = max(m, abs(Double(x.data[i]) - ref[i]) / max(1, abs(ref[i]))) }
        return m
    }
}

/// Whether `error` is a TensorError whose text contains every one of `parts`.
func errorNames(_ error: any Error, _ parts: String...) -> Bool {
    guard error is TensorError else { return false }
    let text = "\(error)"
    return parts.allSatisfy { text.contains($0) }
}
