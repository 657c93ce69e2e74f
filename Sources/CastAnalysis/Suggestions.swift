/// "Did you mean" for names typed by hand: the candidates closest by edit distance.
enum Suggestions {
    /// Up to `limit` candidates within a distance that scales with the name's length,
    /// closest first.
    static func closest(to name: String, in candidates: [String], limit: Int = 3) -> [String] {
        let threshold = max(2, name.count / 3)
        let scored: [(name: String, distance: Int)] = candidates.map { ($0, distance(name, $0)) }
        let near = scored.filter { $0.distance <= threshold }
        let ordered = near.sorted { a, b in a.distance != b.distance ? a.distance < b.distance : a.name < b.name }
        return ordered.prefix(limit).map { $0.name }
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// " Did you mean a or b?" (empty when there is nothing close).
    static func didYouMean(_ name: String, _ candidates: [String]) -> String {
        let close = closest(to: name, in: candidates)
        guard !close.isEmpty else { return "" }
        return " Did you mean " + close.joined(separator: " or ") + "?"
    }
}
