import Foundation
import Testing
@testable import CastModels

/// Where the real-model tests find a registry model (the fetcher will be wired in later).
func realModelPath(_ name: String) -> URL {
    CastHome.models.appendingPathComponent("\(name).gguf")
}

/// Tokenizers are loaded once per model and shared by the tests.
enum SharedTokenizers {
    private static let cache = Cache()

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var tokenizers: [String: Tokenizer] = [:]
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let t = cache.tokenizers[name] { return t }
        let path = realModelPath(name)
        try #require(FileManager.default.fileExists(atPath: path.path), "model \(name) not found at \(path.path)")
        let t = try Tokenizer(ggufPath: path.path)
        cache.tokenizers[name] = t
        return t
    }
}

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
