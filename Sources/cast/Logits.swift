import ArgumentParser
import CastModels
import Foundation

/// `cast logits --model M --prompt TEXT`: the next-token logits after a prompt.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the most likely next tokens after a prompt, with their logits.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @Option(help: "The prompt (tokenized with BOS and special tokens, as `cast tokenize`).") var prompt: String
    @Option(help: "How many of the largest logits to print.") var top = 10
    @Flag(help: "Print JSON: {\"ids\": [...], \"top\": [[id, logit], ...], \"logsumexp\": x}.") var json = false

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
    }

    /// `[id, logit]` as a two-element JSON array.
    struct Entry: Encodable {
        let id: Int
        let logit: Float
        func encode(to encoder: Encoder) throws {
            var c = encoder.unkeyedContainer()
            try c.encode(id)
            try c.encode(logit)
        }
    }

    struct Output: Encodable {
        let ids: [Int]
        let top: [Entry]
        let logsumexp: Double
    }

    func run() throws {
        let transformer = try model.load().model
        let generator = model.generator(for: transformer, adapters: try adapterOption.adapters(for: transformer))
        let ids = try generator.promptIds(for: prompt)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        let cache = KVCache(config: transformer.config)
        let logits = try transformer.nextTokenLogits(
            ids.map(Int32.init), batch: KVCacheBatch(caches: [cache], segments: [(0, 0, ids.count)]),
            adapters: generator.adapters, arithmetic: model.arithmetic)
        let row = logits.scalars
        let ranking = NextTokenRanking(row, top: top)
        let best = ranking.best, logsumexp = ranking.logSumExp
        if json {
            let output = Output(ids: ids, top: best.map { Entry(id: $0, logit: row[$0]) }, logsumexp: logsumexp)
            print(String(decoding: try JSONEncoder().encode(output), as: UTF8.self))
            return
        }
        print("prompt: \(ids.count) tokens")
        let tokenizer = transformer.tokenizer
        let rows = best.map { id in
            [String(id), (tokenizer?.tokenText(id) ?? "").debugDescription, String(format: "%.4f", row[id]),
             String(format: "%.4f", ranking.probability(of: row[id]))]
        }
        print(TextTable(header: ["ID", "TOKEN", "LOGIT", "PROB"], rows: rows, rightAligned: [0, 2, 3]).render())
    }
}
