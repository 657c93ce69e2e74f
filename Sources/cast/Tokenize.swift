import ArgumentParser
import CastModels
import Foundation

/// `cast tokenize --model M TEXT`: the model's token ids for a text.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids (and token texts) a model's tokenizer gives a text.")

    @OptionGroup var model: ModelOptions
    @Flag(help: "Print JSON: {\"ids\": [...], \"tokens\": [...]}.") var json = false
    @Flag(help: "Do not add BOS/EOS tokens.") var noSpecial = false
    @Argument(help: "The text to tokenize.") var text: String

    struct Output: Codable {
        let ids: [Int]
        let tokens: [String]
    }

    func run() throws {
        let tokenizer = try model.loadTokenizer()
        let ids = tokenizer.encode(text, addSpecial: !noSpecial, parseSpecial: true)
        let tokens = ids.map { tokenizer.tokenText($0) ?? "" }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Output(ids: ids, tokens: tokens)), as: UTF8.self))
            return
        }
        for (id, token) in zip(ids, tokens) { print("\(id)\t\(token.debugDescription)") }
    }
}
