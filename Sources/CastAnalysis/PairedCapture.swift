import CastAdapters
import CastModels

/// Activations of two models over the same texts, row for row on the same text: each text
/// is read by both models (up to `window` tokens each) and only positions whose tokens end
/// at the same byte offset are kept (`TokenAlignment`), so row r of both sets predicts the
/// same next text. With one tokenizer every position pairs with itself.
public enum PairedCapture {
    public static func run(_ a: Transformer, _ b: Transformer, texts: [String],
                           pointsA: [ActivationPoint], pointsB: [ActivationPoint],
                           options: CaptureOptions = CaptureOptions(), window: Int = 1024,
                           progress: ((_ done: Int, _ total: Int) throws -> Void)? = nil)
        throws -> (a: ActivationSet, b: ActivationSet) {
        guard let ta = a.tokenizer, let tb = b.tokenizer else {
            throw AnalysisError("comparing two models on text needs both tokenizers (GGUF files carry them)")
        }
        guard options.keepRows else { throw AnalysisError("paired captures keep rows (CKA pairs them token by token)") }
        let firstWindow = { (tokenizer: Tokenizer) throws -> [CaptureSequence] in
            let all = try CaptureInputs.texts(texts, tokenizer: tokenizer, window: window)
            var seen = Set<Int>()
            return all.filter { seen.insert($0.textIndex).inserted }
        }
        var sa = try firstWindow(ta), sb = try firstWindow(tb)
        for k in sa.indices {
            let pairs = TokenAlignment.pairs(sa[k].endOffsets ?? [], sb[k].endOffsets ?? [])
            let allowed = Set(options.positions.positions(of: sa[k]))
            var kept = options.positions == .last ? Array(pairs.suffix(1)) : pairs.filter { allowed.contains($0.0) }
            if options.positions == .answer { kept = [] }
            sa[k].positions = kept.map(\.0)
            sb[k].positions = kept.map(\.1)
        }
        // Progress counts both models' sequences: a's first, then b's.
        let total = sa.count + sb.count
        let ra = try ActivationCapture.run(a, sequences: sa, points: pointsA, options: options,
                                           progress: progress.map { p in { done, _ in try p(done, total) } })
        let rb = try ActivationCapture.run(b, sequences: sb, points: pointsB, options: options,
                                           progress: progress.map { p in { done, _ in try p(sa.count + done, total) } })
        guard ra.tokens.count == rb.tokens.count,
              zip(ra.tokens, rb.tokens).allSatisfy({ $0.textIndex == $1.textIndex }) else {
            throw AnalysisError("paired capture: the two models kept different tokens (\(ra.tokens.count) vs \(rb.tokens.count))")
        }
        return (ra, rb)
    }
}
