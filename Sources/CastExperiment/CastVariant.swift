import CastAdapters

/// The CAST variants `cast experiment --variants` puts beside the `cast` row, each changing
/// one thing from it.
public enum CastVariant: String, CaseIterable, Sendable {
    case lsqInit = "lsq-init"
    case delta
    case titok
    case selfText = "self-text"
    /// A diagnostic, not a method: distil on the teacher's own answers to the task's train
    /// prompts (their answers are never read). It reads task data, so it is never a candidate
    /// for the default; it asks whether CAST's layers can carry the task at all once the text
    /// exercises it, apart from whether general text does.
    case taskText = "task-text"
    case indexMap = "index-map"
    case ckaMap = "cka-map"

    public static var names: [String] { allCases.map(\.rawValue) }

    public init(_ name: String) throws {
        guard let v = CastVariant(rawValue: name) else {
            throw ExperimentError("unknown CAST variant '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
        self = v
    }

    /// `options` with this variant's one change (self-text and task-text change the corpus, and cka-map's
    /// map needs the models: `ExperimentRun.variantRow` makes those two).
    public func applied(to options: CastOptions) -> CastOptions {
        var o = options
        switch self {
        case .lsqInit: o.initialization = .leastSquares
        case .delta: o.objective = .delta
        case .titok: o.objective = .excess
        case .selfText, .taskText, .ckaMap: break
        case .indexMap: o.layerMap = .index
        }
        return o
    }
}
