import Foundation
import Testing
@testable import CastModels


/// One model's recorded llama.cpp ids (scripts/record_tokenizer_reference.py).
struct TokenizerReference: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_plain: [Int]
    }
    struct Chat: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        let messages: [Message]
        let text: String
        let ids: [Int]
    }
    let model: String
    let cases: [Case]
    let chat: [String: Chat]

    static func load(_ model: String) throws -> TokenizerReference {
        let url = try #require(Bundle.module.url(forResource: "tokenizer-\(model)", withExtension: "json",
                                                 subdirectory: "References"),
                               "no recorded reference for \(model)")
        return try JSONDecoder().decode(TokenizerReference.self, from: Data(contentsOf: url))
    }
}
