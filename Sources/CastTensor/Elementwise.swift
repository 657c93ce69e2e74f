import Foundation

/// Binary elementwise functions (numpy broadcasting applies).
public enum BinaryFunction: String, CaseIterable, Sendable {
    case add, subtract, multiply, divide
}

/// Unary elementwise functions.
public enum UnaryFunction: String, CaseIterable, Sendable {
    case exp, log, sqrt, neg, abs, square, tanh
}

/// Elementwise kernels. Each output element is one float operation on its inputs, so results
/// do not depend on how the rows are split across cores.
public enum Elementwise {
    /// Elements per chunk below which a memory-bound loop is not worth another thread.
    public static let memoryGrain = 32_768
    /// The same for loops that call a transcendental function per element.
    public static let mathGrain = 4_096

    /// `out = f(a, b)` with broadcasting; `out` is resized to the broadcast shape (its
    /// storage reused when possible). Throws naming both shapes when they cannot broadcast.
    public static func apply(_ f: BinaryFunction, _ a: Tensor, _ b: Tensor, into out: inout Tensor) throws {
        let plan = try BroadcastPlan(a.shape, b.shape, op: f.rawValue)
        let (ap, bp) = (a.data, b.data)
        out.reuse(shape: plan.outShape)
        let op = out.mutableData
        switch f {
        case .add: run(Add(), plan, ap, bp, op)
        case .subtract: run(Subtract(), plan, ap, bp, op)
        case .multiply: run(Multiply(), plan, ap, bp, op)
        case .divide: run(Divide(), plan, ap, bp, op)
        }
        withExtendedLifetime((a, b)) {}
    }

    /// `y = f(x)`; `y` is resized to `x.shape` (its storage reused when possible).
    public static func apply(_ f: UnaryFunction, _ x: Tensor, into y: inout Tensor) {
        let xp = x.data
        y.reuse(shape: x.shape)
        let yp = y.mutableData
        let n = x.count
        switch f {
        case .exp: map(n, xp, yp, grain: mathGrain, Exp())
        case .log: map(n, xp, yp, grain: mathGrain, Log())
        case .sqrt: map(n, xp, yp, grain: memoryGrain, SquareRoot())
        case .neg: map(n, xp, yp, grain: memoryGrain, Scale(factor: -1))
        case .abs: map(n, xp, yp, grain: memoryGrain, Absolute())
        case .square: map(n, xp, yp, grain: memoryGrain, Square())
        case .tanh: map(n, xp, yp, grain: mathGrain, HyperbolicTangent())
        }
        withExtendedLifetime(x) {}
    }

    /// `acc += a ⊙ b`, where `a` has `acc`'s shape and `b` broadcasts to it (the gradient of
    /// a product with respect to its full-shape operand), without a temporary.
    public static func addProduct(_ a: Tensor, _ b: Tensor, into acc: inout Tensor) throws {
        try a.expectShape(acc.shape, "addProduct", "a")
        let plan = try BroadcastPlan(acc.shape, b.shape, op: "addProduct")
        guard plan.outShape == acc.shape else {
            throw TensorError.shapeMismatch("addProduct", acc.shape, b.shape, "b does not broadcast to the accumulator's shape")
        }
        guard plan.count > 0 else { return }
        let (ap, bp) = (a.data, b.data)
        let cp = acc.mutableData
        let inner = plan.inner, sb = plan.bInnerStride
        Parallel.forEach(plan.outerCount, grain: max(1, memoryGrain / inner)) { rows in
            for r in rows {
                let offset = r * inner, bRow = bp + plan.offsets(ofRow: r).b
                let (x, y) = (ap + offset, cp + offset)
                if sb == 0 {
                    let v = bRow[0]
                    for j in 0..<inner { y[j] += x[j] * v }
                } else {
                    for j in 0..<inner { y[j] += x[j] * bRow[j] }
                }
            }
        }
        withExtendedLifetime((a, b)) {}
    }

    // MARK: kernels

    /// Runs `k` over a broadcast plan: innermost runs are contiguous in `out` and advance by
    /// 1 or 0 in each operand.
    static func run<K: BinaryKernel>(_ k: K, _ plan: BroadcastPlan, _ a: UnsafePointer<Float>,
                                     _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        guard plan.count > 0 else { return }
        let inner = plan.inner, rows = plan.outerCount
        let sa = plan.aInnerStride, sb = plan.bInnerStride
        if rows == 1 {
            // One long run (same shapes, or a scalar against a tensor): split it across cores.
            Parallel.forEach(inner, grain: memoryGrain) { r in
                let s = r.lowerBound
                runRow(k, a + s * sa, sa, b + s * sb, sb, out + s, r.count)
            }
            return
        }
        Parallel.forEach(rows, grain: max(1, memoryGrain / inner)) { rs in
            for r in rs {
                let (oa, ob) = plan.offsets(ofRow: r)
                runRow(k, a + oa, sa, b + ob, sb, out + r * inner, inner)
            }
        }
    }

    @inline(__always)
    static func runRow<K: BinaryKernel>(_ k: K, _ a: UnsafePointer<Float>, _ sa: Int,
                                        _ b: UnsafePointer<Float>, _ sb: Int,
                                        _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        if sa != 0 && sb != 0 {
            for j in 0..<n { out[j] = k(a[j], b[j]) }
        } else if sb == 0 {
            let v = b[0]
            for j in 0..<n { out[j] = k(a[j], v) }
        } else {
            let v = a[0]
            for j in 0..<n { out[j] = k(v, b[j]) }
        }
    }

    static func map<K: UnaryKernel>(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    grain: Int, _ k: K) {
        Parallel.forEach(n, grain: grain) { r in
            for i in r { y[i] = k(x[i]) }
        }
    }
}

/// A binary float operation, specialised into the loops (a protocol rather than a closure so
/// the optimiser inlines it and vectorises the row loop).
protocol BinaryKernel {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

struct Add: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct Subtract: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct Multiply: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct Divide: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
/// `a + alpha·b` (axpy).
struct AddScaled: BinaryKernel {
    let alpha: Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + alpha * b }
}
/// Takes the second operand: materialises a broadcast.
struct Second: BinaryKernel { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { b } }

/// A unary float operation, specialised into the loops like `BinaryKernel`.
protocol UnaryKernel {
    func callAsFunction(_ x: Float) -> Float
}

struct Exp: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.exp(x) } }
struct Log: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.log(x) } }
struct SquareRoot: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() } }
struct Absolute: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) } }
struct Square: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x } }
struct HyperbolicTangent: UnaryKernel { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.tanh(x) } }
struct Scale: UnaryKernel {
    let factor: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * factor }
}
struct Shift: UnaryKernel {
    let offset: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x + offset }
}
struct DivideBy: UnaryKernel {
    let divisor: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x / divisor }
}

// MARK: - Tensor API

extension Tensor {
    public func adding(_ other: Tensor) throws -> Tensor { try binary(.add, other) }
    public func subtracting(_ other: Tensor) throws -> Tensor { try binary(.subtract, other) }
    public func multiplying(_ other: Tensor) throws -> Tensor { try binary(.multiply, other) }
    public func dividing(_ other: Tensor) throws -> Tensor { try binary(.divide, other) }

    private func binary(_ f: BinaryFunction, _ other: Tensor) throws -> Tensor {
        var out = Tensor(zeros: [])
        try Elementwise.apply(f, self, other, into: &out)
        return out
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.adding(b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.subtracting(b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.multiplying(b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.dividing(b) }

    // MARK: scalars

    /// `self + s` elementwise.
    public func adding(_ s: Float) -> Tensor { mapped(Shift(offset: s)) }
    /// `self · s` elementwise.
    public func scaled(by s: Float) -> Tensor { mapped(Scale(factor: s)) }

    public static func + (a: Tensor, s: Float) -> Tensor { a.adding(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.adding(s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.adding(-s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.scaled(by: s) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.scaled(by: s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.mapped(DivideBy(divisor: s)) }
    public static prefix func - (a: Tensor) -> Tensor { a.negated() }

    // MARK: unary (exp, log, sqrt, abs, tanh are free functions below)

    public func negated() -> Tensor { applying(.neg) }
    public func squared() -> Tensor { applying(.square) }

    public func applying(_ f: UnaryFunction) -> Tensor {
        var out = Tensor(zeros: [])
        Elementwise.apply(f, self, into: &out)
        return out
    }

    /// `f` applied to every element (a closure: fine for small tensors and prototypes; the
    /// named functions are faster).
    public func mapped(grain: Int = Elementwise.mathGrain, _ f: (Float) -> Float) -> Tensor {
        var out = Tensor(uninitialized: shape)
        let (x, y) = (data, out.mutableData)
        Parallel.forEach(count, grain: grain) { r in
            for i in r { y[i] = f(x[i]) }
        }
        withExtendedLifetime(self) {}
        return out
    }

    private func mapped<K: UnaryKernel>(_ k: K) -> Tensor {
        var out = Tensor(uninitialized: shape)
        Elementwise.map(count, data, out.mutableData, grain: Elementwise.memoryGrain, k)
        withExtendedLifetime(self) {}
        return out
    }

    // MARK: in place (gradient accumulation, optimiser updates)

    /// `self += other`, with `other` broadcast to `self`'s shape (never the other way round).
    public mutating func add(_ other: Tensor) throws {
        try inPlace(Add(), other, op: "add")
    }

    /// `self += alpha · other` (axpy), with `other` broadcast to `self`'s shape.
    public mutating func addScaled(_ other: Tensor, alpha: Float) throws {
        try inPlace(AddScaled(alpha: alpha), other, op: "addScaled")
    }

    /// `self *= s`.
    public mutating func scale(by s: Float) {
        let p = mutableData
        Elementwise.map(count, UnsafePointer(p), p, grain: Elementwise.memoryGrain, Scale(factor: s))
    }

    private mutating func inPlace<K: BinaryKernel>(_ k: K, _ other: Tensor, op: String) throws {
        let plan = try BroadcastPlan(shape, other.shape, op: op)
        guard plan.outShape == shape else {
            throw TensorError.shapeMismatch(op, shape, other.shape, "in-place operand must broadcast to the target's shape")
        }
        let bp = other.data  // taken first: if other shares our storage, makeUnique copies ours
        let p = mutableData
        Elementwise.run(k, plan, UnsafePointer(p), bp, p)
        withExtendedLifetime(other) {}
    }
}

// Free functions rather than methods: a method named `sqrt` or `abs` on Tensor would hide the
// global float functions inside every Tensor extension ("use of 'sqrt' refers to instance
// method"); overloads of the globals do not.
public func exp(_ x: Tensor) -> Tensor { x.applying(.exp) }
public func log(_ x: Tensor) -> Tensor { x.applying(.log) }
public func sqrt(_ x: Tensor) -> Tensor { x.applying(.sqrt) }
public func abs(_ x: Tensor) -> Tensor { x.applying(.abs) }
public func tanh(_ x: Tensor) -> Tensor { x.applying(.tanh) }
