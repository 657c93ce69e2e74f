import CastAdapters
import CastTestSupport
import CastTensor
import Foundation
import Testing
@testable import CastAnalysis
@testable import CastModels

/// Two models on the same text: the whole text is read (not only its first window), in
/// windows that cover the same bytes on both sides, and every aligned position is kept.
@Suite struct PairedCaptureTests {
    static let text = String(repeating: "The canal runs north from the old mill, past the locks and the boatyard, to the "
                             + "river; anglers, birdwatchers and families on bicycles use its towpath all year. ", count: 3)

    @Test func windowsCoverTheWholeTextInStep() throws {
        let a = try TestModels.model("smollm2-135m"), b = try TestModels.model("qwen2.5-0.5b")
        let (ta, tb) = (try #require(a.tokenizer), try #require(b.tokenizer))
        let window = 16
        let (sa, sb) = try PairedCapture.sequences(a, b, texts: [Self.text], window: window, positions: .all)
        // The whole text's aligned pairs, as one window would see them.
        let idsA = ta.encode(Self.text, addSpecial: true, parseSpecial: false).map(Int32.init)
        let idsB = tb.encode(Self.text, addSpecial: true, parseSpecial: false).map(Int32.init)
        let bytes = Array(Self.text.utf8)
        let pairs = TokenAlignment.pairs(TokenAlignment.endOffsets(idsA, tokenizer: ta, text: bytes),
                                         TokenAlignment.endOffsets(idsB, tokenizer: tb, text: bytes))
        #expect(idsA.count > 4 * window)
        #expect(sa.count == sb.count && sa.count > 4)
        #expect(sa.reduce(0) { $0 + $1.positions!.count } == pairs.count)
        var covered: [UInt8] = []
        for (x, y) in zip(sa, sb) {
            #expect(x.ids.count <= window && y.ids.count <= window)
            // Window k of both models reads the same bytes, and each kept pair ends at the same byte.
            let textA = x.ids.flatMap { ta.textBytes(of: Int($0)) ?? [] }, textB = y.ids.flatMap { tb.textBytes(of: Int($0)) ?? [] }
            #expect(textA == textB)
            covered += textA
            for (p, q) in zip(x.positions!, y.positions!) { #expect(x.endOffsets![p]! == y.endOffsets![q]!) }
        }
        #expect(covered == bytes)

        // The capture keeps every pair, past the first window.
        let point = ActivationPoint(.residPost, layer: 2)
        let (ra, rb) = try PairedCapture.run(a, b, texts: [Self.text], pointsA: [point], pointsB: [point], window: window)
        #expect(ra.tokens.count == pairs.count && rb.tokens.count == pairs.count)

        // Linear CKA from statistics over the same pairs equals the row-based CKA.
        let passes = try StatisticsCKA.pairedPasses(a, b, texts: [Self.text], pointsA: [point], pointsB: [point],
                                                    options: CaptureOptions(keepRows: false), window: window, chunkRows: 40)
        let streamed = try StatisticsCKA.matrix(rowWidths: [b.config.hiddenSize], columnWidths: [a.config.hiddenSize],
                                                memoryBudget: Int.max, pass: passes)
        #expect(streamed.tokens == pairs.count)
        let rows = try CKA.similarity(try rb.rows(point), try ra.rows(point))
        #expect(abs(streamed.cka[0][0] - rows) <= 1e-5 * rows, "statistics \(streamed.cka[0][0]) vs rows \(rows)")
    }
}
