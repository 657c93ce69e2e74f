/// Fewer points for a long curve with the same look: the series is cut into consecutive
/// chunks and each keeps its first, lowest, highest and last point, in order. A picture
/// 720 pixels wide cannot show more, and a 100k-step run stays a small SVG.
enum LineDecimation {
    /// Below this many points a series is drawn as it is.
    static let threshold = 4_000

    static func decimated(_ series: LineSeries, chunks: Int = 1_000) -> LineSeries {
        guard series.y.count > threshold else { return series }
        var kept = LineSeries(name: series.name, x: [], y: [])
        let n = series.y.count
        for c in 0..<chunks {
            let range = (n * c / chunks)..<(n * (c + 1) / chunks)
            guard !range.isEmpty else { continue }
            let low = range.min { series.y[$0] < series.y[$1] }!, high = range.max { series.y[$0] < series.y[$1] }!
            var picks = [range.lowerBound, low, high, range.upperBound - 1].sorted()
            picks = picks.enumerated().filter { $0.offset == 0 || picks[$0.offset - 1] != $0.element }.map(\.element)
            for i in picks {
                kept.x.append(series.x[i])
                kept.y.append(series.y[i])
            }
        }
        return kept
    }
}
