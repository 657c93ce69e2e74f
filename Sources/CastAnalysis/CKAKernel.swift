/// The kernel CKA compares representations with.
public enum CKAKernel: Equatable, Sendable, CustomStringConvertible {
    /// ⟨x, y⟩: linear CKA, invariant to orthogonal transforms and isotropic scaling.
    case linear
    /// exp(−‖x − y‖² / 2σ²) with σ = `sigmaScale` × the median pairwise distance (Kornblith
    /// et al. 2019 use 0.2–0.8).
    case rbf(sigmaScale: Double)

    /// Parses `linear`, `rbf` (σ scale 0.5) or `rbf:S`.
    public init(parsing text: String) throws {
        if text == "linear" { self = .linear; return }
        if text == "rbf" { self = .rbf(sigmaScale: 0.5); return }
        if text.hasPrefix("rbf:"), let s = Double(text.dropFirst(4)), s > 0, s.isFinite { self = .rbf(sigmaScale: s); return }
        throw AnalysisError("kernel '\(text)': expected linear, rbf or rbf:SCALE (e.g. rbf:0.5)")
    }

    public var description: String {
        switch self {
        case .linear: "linear"
        case .rbf(let s): "rbf:\(s)"
        }
    }
}
