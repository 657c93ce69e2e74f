import CastTestSupport
import Foundation
import Testing
@testable import CastModels

/// Incremental detokenization with the real smollm2 tokenizer (no weights needed).
@Suite("GeneratedText")
struct GeneratedTextTests {
    /// Feeds `text`'s tokens one by one; returns the streamed chunks and the final text.
    static func stream(_ text: String, stop: [String], tokenizer: Tokenizer) -> (chunks: [String], text: String, stoppedAt: Int?) {
        let prompt = tokenizer.encode("Answer:", addSpecial: false)
        let ids = tokenizer.encode(text, addSpecial: false)
        var generated = GeneratedText(tokenizer: tokenizer, stopStrings: stop, lastPromptToken: prompt.last!)
        var chunks: [String] = []
        for (i, id) in ids.enumerated() {
            let stopped = generated.append(id)
            chunks.append(generated.takeReady(final: stopped || i == ids.count - 1))
            if stopped { return (chunks, generated.text, i) }
        }
        return (chunks, generated.text, nil)
    }

    @Test("streamed chunks concatenate to the decoded text and never split a character")
    func utf8() throws {
        let tokenizer = try TestModels.tokenizer("smollm2-135m")
        let text = " Grüße 🌍🎉 naïve 日本語 done"
        let (chunks, full, stopped) = Self.stream(text, stop: [], tokenizer: tokenizer)
        #expect(stopped == nil)
        #expect(full == text)
        #expect(chunks.joined() == text)
        #expect(!chunks.joined().contains("\u{FFFD}"))
        // The emoji spans several byte tokens, so some steps must have held bytes back.
        #expect(chunks.contains(""))
    }

    @Test("a stop string ends the text before it and is never streamed, even split across tokens")
    func stopString() throws {
        let tokenizer = try TestModels.tokenizer("smollm2-135m")
        let text = " The answer is forty-two. END of story"
        for stop in ["END", "two. E", "\n", "ory"] {
            let (chunks, full, stopped) = Self.stream(text, stop: [stop], tokenizer: tokenizer)
            let expected = text.range(of: stop).map { String(text[..<$0.lowerBound]) } ?? text
            #expect(full == expected, "stop \(stop.debugDescription)")
            #expect(chunks.joined() == expected, "stop \(stop.debugDescription)")
            #expect((stopped != nil) == text.contains(stop))
        }
        // A stop string's prefix at the end is held back until it turns out not to be one.
        let (chunks, full, _) = Self.stream(" ab ENx", stop: ["END"], tokenizer: tokenizer)
        #expect(full == " ab ENx")
        #expect(chunks.joined() == " ab ENx")
    }
}
