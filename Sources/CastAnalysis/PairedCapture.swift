import CastAdapters
import CastModels

/// Activations of two models over the same texts, row for row on the same text: each text
/// is read whole by both models, in windows cut where both tokenizations have a token
/// boundary at the same byte (so window k of both models covers the same bytes and sees
/// the same context), and only positions whose tokens end at the same byte offset are kept
/// (`TokenAlignment`), so row r of both sets predicts the same next text. With one
/// tokenizer every position pairs with itself.
public enum PairedCapture {
    public static func run(_ a: Transformer, _ b: Transformer, texts: [String],
                           pointsA: [ActivationPoint], pointsB: [ActivationPoint],
                           options: CaptureOptions = CaptureOptions(), window: Int = 1024,
                           progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil)
        throws -> (a: ActivationSet, b: ActivationSet) {
        guard options.keepRows else { throw AnalysisError("paired captures keep rows (CKA pairs them token by token)") }
        let (sa, sb) = try sequences(a, b, texts: texts, window: window, positions: options.positions)
        // Progress counts both models' sequences: a's first, then b's.
        let total = sa.count + sb.count
        let ra = try ActivationCapture.run(a, sequences: sa, points: pointsA, options: options,
                                           progress: progress.map { p in { done, _ in try p(done, total) } })
        let rb = try ActivationCapture.run(b, sequences: sb, points: pointsB, options: options,
                                           progress: progress.map { p in { done, _ in try p(sa.count + done, total) } })
        try checkPaired(ra.tokens, rb.tokens)
        return (ra, rb)
    }

    /// Both models' windows over `texts`, window k of each covering the same bytes, with the
    /// aligned positions `positions` selects as each window's explicit positions. Windows
    /// that keep no position are left out.
    public static func sequences(_ a: Transformer, _ b: Transformer, texts: [String], window: Int,
                                 positions: PositionSelector) throws -> (a: [CaptureSequence], b: [CaptureSequence]) {
        guard let ta = a.tokenizer, let tb = b.tokenizer else {
            throw AnalysisError("comparing two models on text needs both tokenizers (GGUF files carry them)")
        }
        guard !texts.isEmpty else { throw AnalysisError("no text given: activations need at least one non-empty text") }
        guard window >= 2 else { throw AnalysisError("window must be at least 2 tokens, got \(window)") }
        var outA: [CaptureSequence] = [], outB: [CaptureSequence] = []
        for (index, text) in texts.enumerated() {
            guard !text.isEmpty else {
                throw AnalysisError("text \(index + 1) of \(texts.count) is empty: activations need at least one token of text")
            }
            let sideA = Tokenized(text, ta), sideB = Tokenized(text, tb)
            for (wa, wb, pairs) in windows(sideA, sideB, window: window) {
                var sa = sideA.sequence(wa, textIndex: index), sb = sideB.sequence(wb, textIndex: index)
                // Pairs as positions inside the windows (after any BOS).
                let local = pairs.map { ($0.0 - wa.lowerBound + sideA.leading, $0.1 - wb.lowerBound + sideB.leading) }
                let allowed = Set(positions.positions(of: sa))
                let kept: [(Int, Int)]
                switch positions {
                case .last: kept = Array(local.suffix(1))
                case .answer: kept = []
                default: kept = local.filter { allowed.contains($0.0) }
                }
                guard !kept.isEmpty else { continue }
                sa.positions = kept.map(\.0)
                sb.positions = kept.map(\.1)
                outA.append(sa)
                outB.append(sb)
            }
        }
        guard !outA.isEmpty else {
            throw AnalysisError("no tokens were selected (positions: \(positions)"
                                + (positions == .answer ? "; two models on text have no answer tokens)" : "; the texts share no token boundary)"))
        }
        return (outA, outB)
    }

    /// One text as a tokenizer reads it: ids, byte offsets, and whether it starts with a BOS.
    struct Tokenized {
        let ids: [Int32]
        let ends: [Int?]
        let leading: Int

        init(_ text: String, _ tokenizer: Tokenizer) {
            ids = tokenizer.encode(text, addSpecial: true, parseSpecial: false).map(Int32.init)
            ends = TokenAlignment.endOffsets(ids, tokenizer: tokenizer, text: Array(text.utf8))
            let bos = tokenizer.vocabulary.addBOS ? tokenizer.vocabulary.bosId.map { Int32($0) } : nil
            leading = (bos != nil && ids.first == bos) ? 1 : 0
        }

        /// The window `range` of the text's tokens as a sequence of its own (with the BOS).
        func sequence(_ range: Range<Int>, textIndex: Int) -> CaptureSequence {
            let head = leading == 1 ? [ids[0]] : [], headEnds = leading == 1 ? [ends[0]] : []
            return CaptureSequence(ids: head + ids[range], endOffsets: headEnds + ends[range], textIndex: textIndex)
        }
    }

    /// Windows of both token lists covering the same bytes, each at most `window` tokens
    /// (BOS included), cut just after an aligned pair, with the aligned pairs inside each
    /// (indices into the whole lists). A stretch with no aligned pair within a window's
    /// reach on both sides is skipped up to the next pair, so the windows stay in step.
    static func windows(_ a: Tokenized, _ b: Tokenized, window: Int) -> [(Range<Int>, Range<Int>, [(Int, Int)])] {
        let pairs = TokenAlignment.pairs(a.ends, b.ends)
        let capacityA = window - a.leading, capacityB = window - b.leading
        var out: [(Range<Int>, Range<Int>, [(Int, Int)])] = []
        var startA = a.leading, startB = b.leading, k = 0
        while k < pairs.count {
            // The furthest pair both windows reach from (startA, startB).
            var end = k
            while end < pairs.count && pairs[end].0 - startA < capacityA && pairs[end].1 - startB < capacityB { end += 1 }
            if end == k {
                // No pair within reach: skip the stretch up to and including pair k.
                startA = pairs[k].0 + 1
                startB = pairs[k].1 + 1
                k += 1
                continue
            }
            let last = pairs[end - 1]
            out.append((startA..<(last.0 + 1), startB..<(last.1 + 1), Array(pairs[k..<end])))
            startA = last.0 + 1
            startB = last.1 + 1
            k = end
        }
        return out
    }

    /// Both sides must have kept the same number of rows, text by text.
    static func checkPaired(_ a: [CapturedToken], _ b: [CapturedToken]) throws {
        guard a.count == b.count, zip(a, b).allSatisfy({ $0.textIndex == $1.textIndex }) else {
            throw AnalysisError("paired capture: the two models kept different tokens (\(a.count) vs \(b.count))")
        }
    }
}
