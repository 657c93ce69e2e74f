import Foundation

/// The folder every temporary folder of one test process lives in: `cast-tests-<pid>` in the
/// system's temporary directory, removed at exit. Folders of runs that were killed (their
/// process is gone, so no exit handler ran) are removed the next time a run starts.
enum TestRunFolder {
    private static let prefix = "cast-tests-"

    static let url: URL = {
        let fm = FileManager.default
        let root = fm.temporaryDirectory
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? fm.removeItem(at: root.appendingPathComponent(name)) }
        }
        let url = root.appendingPathComponent("\(prefix)\(getpid())", isDirectory: true)
        try? fm.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestRunFolder.path) }
        return url
    }()

    /// `url`'s path, for the exit handler (which cannot capture).
    private static var path: String { url.path }
}
