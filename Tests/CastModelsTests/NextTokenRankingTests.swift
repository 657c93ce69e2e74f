import CastModels
import Testing

@Suite struct NextTokenRankingTests {
    /// The shortlist agrees with a full sort (ties to the lower id), for small and large k.
    @Test func topMatchesAFullSort() {
        var generator = SystemRandomNumberGenerator()
        for size in [1, 7, 1000] {
            // Few distinct values, so ties are common.
            let row = (0..<size).map { _ in Float(Int.random(in: 0..<20, using: &generator)) / 4 }
            let sorted = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
            for k in [1, 5, 300, size + 3] {
                #expect(NextTokenRanking(row, top: k).best == Array(sorted.prefix(k)), "size \(size), k \(k)")
            }
        }
    }

    @Test func probabilitiesSumToOne() {
        let row: [Float] = [2, -1, 0.5, 3, 3]
        let ranking = NextTokenRanking(row, top: row.count)
        #expect(ranking.best == [3, 4, 0, 2, 1])
        let total = row.map { ranking.probability(of: $0) }.reduce(0, +)
        #expect(abs(total - 1) < 1e-12)
    }
}
