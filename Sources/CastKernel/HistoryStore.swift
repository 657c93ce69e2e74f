import Foundation

/// The inputs (and their `text/plain` results) of every session, kept in one JSON-lines
/// file so `history_request` finds them after a restart: `$CAST_KERNEL_HISTORY`, else
/// `$CAST_HOME/kernel_history.jsonl`, else `~/.local/share/cast/kernel_history.jsonl`.
/// Sessions are numbered from 1 in the order they started.
final class HistoryStore {
    struct Entry: Codable, Equatable {
        var session: Int
        var line: Int
        var input: String
        var output: String?
    }

    /// Keeps the file from growing without bound: past this many entries the oldest go.
    static let maximumEntries = 10_000

    let path: String?
    private(set) var entries: [Entry] = []
    /// This kernel's session number.
    let session: Int

    init(path: String?) {
        self.path = path
        if let path, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let decoder = JSONDecoder()
            entries = text.split(separator: "\n").compactMap { try? decoder.decode(Entry.self, from: Data($0.utf8)) }
        }
        session = (entries.map(\.session).max() ?? 0) + 1
        if entries.count > Self.maximumEntries { compact() }
    }

    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let path = environment["CAST_KERNEL_HISTORY"] { return path.isEmpty ? nil : path }
        if let home = environment["CAST_HOME"], !home.isEmpty { return home + "/kernel_history.jsonl" }
        return FileManager.default.homeDirectoryForCurrentUser.path + "/.local/share/cast/kernel_history.jsonl"
    }

    func append(line: Int, input: String, output: String?) {
        let entry = Entry(session: session, line: line, input: input, output: output)
        entries.append(entry)
        guard let path, let data = try? JSONEncoder().encode(entry) else { return }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        // One write in append mode: two kernels sharing the file never overwrite each
        // other's lines.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let line = data + Data("\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The last `n` entries.
    func tail(_ n: Int) -> [Entry] { Array(entries.suffix(max(0, n))) }

    /// Lines `start..<stop` of `session` (0 or negative: counted back from this session);
    /// `stop` nil or 0 means to the end.
    func range(session requested: Int, start: Int, stop: Int?) -> [Entry] {
        let wanted = requested <= 0 ? session + requested : requested
        return entries.filter { $0.session == wanted && $0.line >= start && (stop == nil || stop == 0 || $0.line < stop!) }
    }

    /// Entries whose input matches the glob `pattern` (`*`, `?`), newest last; with `unique`
    /// each input once (its latest); with `n`, the last n.
    func search(_ pattern: String, n: Int?, unique: Bool) -> [Entry] {
        var found = entries.filter { Self.glob(pattern, matches: $0.input) }
        if unique {
            var seen = Set<String>()
            found = Array(found.reversed().filter { seen.insert($0.input).inserted }.reversed())
        }
        if let n, n > 0 { found = Array(found.suffix(n)) }
        return found
    }

    private func compact() {
        entries = Array(entries.suffix(Self.maximumEntries))
        guard let path else { return }
        let encoder = JSONEncoder()
        let text = entries.compactMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
        try? (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Shell-style glob over the whole text.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
