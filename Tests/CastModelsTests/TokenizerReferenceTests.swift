import CastTensor
import CastTestSupport
import Foundation
import Testing
@testable import CastModels

/// Our ids against llama.cpp's (llama-cpp-python 0.3.36, recorded by
/// scripts/record_tokenizer_reference.py) for every string of datasets/tokenizer_strings.json,
/// with special tokens parsed and as plain text. Any single differing id fails.
@Suite struct TokenizerReferenceTests {
    static let models = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b"]

    @Test(arguments: models)
    func idsMatchLlamaCpp(model: String) throws {
        let reference = try TokenizerReference.load(model)
        let tokenizer = try TestModels.tokenizer(model)
        #expect(reference.cases.count >= 200)
        var mismatches: [String] = []
        for c in reference.cases {
            let ids = tokenizer.encode(c.text, addSpecial: true, parseSpecial: true)
            if ids != c.ids { mismatches.append("special \(c.text.debugDescription): \(ids) != \(c.ids)") }
            let plain = tokenizer.encode(c.text, addSpecial: true, parseSpecial: false)
            if plain != c.ids_plain { mismatches.append("plain \(c.text.debugDescription): \(plain) != \(c.ids_plain)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(2 * reference.cases.count) differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
    }

    /// decode(encode(x)) == x for every reference string (no BOS, special tokens rendered).
    @Test(arguments: models)
    func decodeInvertsEncode(model: String) throws {
        let reference = try TokenizerReference.load(model)
        let tokenizer = try TestModels.tokenizer(model)
        var failures: [String] = []
        for c in reference.cases {
            for parse in [true, false] {
                let back = tokenizer.decode(tokenizer.encode(c.text, addSpecial: false, parseSpecial: parse))
                if back != c.text { failures.append("\(c.text.debugDescription) -> \(back.debugDescription)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) strings do not round-trip:\n\(failures.prefix(10).joined(separator: "\n"))")
    }

    /// BOS is added only where the model asks for it, and skipSpecial drops it again.
    @Test func bosHandling() throws {
        let gemma = try TestModels.tokenizer("gemma3-270m")
        let ids = gemma.encode("Hello")
        #expect(ids.first == gemma.vocabulary.bosId)
        #expect(gemma.decode(ids, skipSpecial: true) == "Hello")
        #expect(gemma.decode(ids) == "<bos>Hello")
        let smol = try TestModels.tokenizer("smollm2-135m")
        #expect(smol.encode("Hello") == smol.encode("Hello", addSpecial: false))
    }

    /// Encoding 10k words must be fast (release build: well under a second). The words are
    /// seeded random letter strings, mostly distinct, so the per-call word cache cannot help.
    @Test(arguments: ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"])
    func encodesTenThousandWordsQuickly(model: String) throws {
        let tokenizer = try TestModels.tokenizer(model)
        var generator = SplitMix64(seed: 7)
        let letters = Array("etaoinshrdlucmfwypvbgkjqxz")
        let separators = [" ", " ", " ", " ", ", ", ". ", "\n", " (", ") ", " 42 ", "'s "]
        var text = ""
        for _ in 0..<10_000 {
            let length = 2 + Int(generator.next() % 9)
            text += String((0..<length).map { _ in letters[Int(generator.next() % 26) * Int(generator.next() % 26) / 26] })
            text += separators[Int(generator.next() % UInt64(separators.count))]
        }
        let clock = ContinuousClock()
        var ids: [Int] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text) }
        #expect(tokenizer.decode(ids, skipSpecial: true) == text)
        #if DEBUG
        let limit: Duration = .seconds(30)
        #else
        let limit: Duration = .milliseconds(500)
        #endif
        #expect(elapsed < limit, "\(model): \(ids.count) tokens in \(elapsed)")
        print("tokenizer speed \(model): 10000 words, \(text.utf8.count) bytes, \(ids.count) tokens in \(elapsed)")
    }
}
