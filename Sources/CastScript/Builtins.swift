/// The registry of builtins: every function the language offers, in the order help and
/// docs/language.md list them.
public enum Builtins {
    public static var all: [Builtin] { CoreBuiltins.all + ModelBuiltins.all + AdapterBuiltins.all + PlotBuiltins.all + AnalysisBuiltins.all + ExperimentBuiltins.all }

    /// The builtins that never touch a model or a file (for sandboxes and the fuzzer).
    public static var pure: [Builtin] { all.filter { !$0.usesEngine } }
}
