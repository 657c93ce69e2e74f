import CastTensor
import Foundation

/// Matrices for property tests: seeded normals, orthogonal maps, products.
enum Matrices {
    /// `[n, d]` rows with a spread of scales per column (so PCA has a clear spectrum).
    static func spread(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
        var x = Tensor.randomNormal([n, d], seed: seed)
        let p = x.mutableData
        for r in 0..<n { for j in 0..<d { p[r * d + j] *= Float(1.0 / Double(j + 1)) + (j == 0 ? 3 : 0) } }
        return x
    }

    /// A random orthogonal `[d, d]` matrix (Gram–Schmidt of a seeded normal one).
    static func orthogonal(_ d: Int, seed: UInt64) -> Tensor {
        let g = Tensor.randomNormal([d, d], seed: seed)
        var q = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            var v = (0..<d).map { Double(g.data[i * d + $0]) }
            for _ in 0..<2 {
                for j in 0..<i {
                    var dot = 0.0
                    for t in 0..<d { dot += v[t] * q[j * d + t] }
                    for t in 0..<d { v[t] -= dot * q[j * d + t] }
                }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for t in 0..<d { q[i * d + t] = v[t] / norm }
        }
        return try! Tensor(q.map { Float($0) }, shape: [d, d])
    }

    /// `a·b` for `[n, k]·[k, m]`.
    static func product(_ a: Tensor, _ b: Tensor) -> Tensor {
        let n = a.shape[0], k = a.shape[1], m = b.shape[1]
        var out = Tensor(zeros: [n, m])
        for i in 0..<n {
            for j in 0..<m {
                var s = 0.0
                for t in 0..<k { s += Double(a.data[i * k + t]) * Double(b.data[t * m + j]) }
                out.mutableData[i * m + j] = Float(s)
            }
        }
        return out
    }

    static func scaled(_ a: Tensor, by s: Float, plus shift: Float = 0) -> Tensor {
        var out = a
        let p = out.mutableData
        for i in 0..<a.count { p[i] = p[i] * s + shift }
        return out
    }

    /// The deterministic matrix both the Swift tests and scripts/record_analysis_reference.py
    /// build: x[i, j] = sin(0.37·(i+1)·(j+1) + 0.11·j) + 0.05·j·cos(0.23·i) (+ `offset`·j).
    static func formula(_ n: Int, _ d: Int, phase: Double = 0) -> Tensor {
        var x = Tensor(zeros: [n, d])
        for i in 0..<n {
            for j in 0..<d {
                let v = Foundation.sin(0.37 * Double((i + 1) * (j + 1)) + 0.11 * Double(j) + phase)
                    + 0.05 * Double(j) * Foundation.cos(0.23 * Double(i) + phase)
                x.mutableData[i * d + j] = Float(v)
            }
        }
        return x
    }
}
