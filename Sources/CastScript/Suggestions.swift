/// "did you mean …?": the known name closest to a misspelt one.
enum Suggestions {
    /// The candidate nearest to `name` by edit distance (a swap of two neighbours counts as
    /// one edit), if it is near enough to be what was meant: at most one edit for short
    /// names, a third of the name's length for longer ones. Ties go to the earlier candidate.
    static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        // One- and two-letter names are too short to guess from; only their case can be wrong.
        let limit = name.count < 3 ? 0 : max(1, name.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != name {
            // Quick reject: lengths alone already differ by more than the limit.
            guard abs(candidate.count - name.count) <= limit else { continue }
            let d = distance(name, candidate)
            if d <= limit, d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        return best?.name
    }

    /// " (did you mean 'x'?)" or "".
    static func hint(for name: String, among candidates: some Sequence<String>) -> String {
        closest(to: name, among: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    /// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions),
    /// case-insensitive so `Load` finds `load`.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous2 = [Int](repeating: 0, count: y.count + 1)
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d = min(d, previous2[j - 2] + 1) }
                current[j] = d
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[y.count]
    }
}
