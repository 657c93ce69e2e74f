/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// `system`, `user` or `assistant` (other roles pass through as written).
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// The chat formats of the instruct models cast ships, rendered as their Jinja templates do
/// (without tools). The text is meant to be encoded with `parseSpecial: true`; BOS is left to
/// the tokenizer (`addSpecial`), so Gemma's template's leading `<bos>` is not in the text.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message, with `defaultSystemPrompt` inserted
    /// when the first message is not a system message (SmolLM2, Qwen2.5).
    case chatML(defaultSystemPrompt: String?)
    /// `<start_of_turn>user\n…<end_of_turn>\n`, `assistant` → `model`, a system message merged
    /// into the first user turn, contents trimmed (Gemma 3).
    case gemma

    /// The template a vocabulary's model uses, from its `tokenizer.chat_template` or, when
    /// absent, its turn tokens.
    public init(vocabulary v: TokenizerVocabulary) throws {
        let source = v.chatTemplate ?? ""
        if source.contains("<start_of_turn>") || (source.isEmpty && v.tokens.contains("<start_of_turn>")) {
            self = .gemma
        } else if source.contains("<|im_start|>") || (source.isEmpty && v.tokens.contains("<|im_start|>")) {
            self = .chatML(defaultSystemPrompt: Self.defaultSystemPrompt(in: source))
        } else {
            throw TokenizerError.unsupported("chat template not recognised (neither ChatML nor Gemma turns)")
        }
    }

    /// The literal system prompt a ChatML Jinja template inserts when none is given: the
    /// first `<|im_start|>system\n…<|im_end|>` whose body is plain text, not template code.
    static func defaultSystemPrompt(in source: String) -> String? {
        var rest = source[...]
        while let open = rest.range(of: "<|im_start|>system") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "<|im_end|>") else { return nil }
            var body = String(rest[..<close.lowerBound])
            if body.hasPrefix("\\n") { body.removeFirst(2) } else if body.hasPrefix("\n") { body.removeFirst() } else { continue }
            if body.isEmpty || body.contains(where: { "'\"{}+".contains($0) }) { continue }
            return body.replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML(let defaultSystem):
            if messages.first?.role != "system", let defaultSystem {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            var turns = messages[...]
            var firstUserPrefix = ""
            if let first = turns.first, first.role == "system" {
                firstUserPrefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (i, m) in turns.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                let prefix = i == 0 ? firstUserPrefix : ""
                out += "<start_of_turn>\(role)\n\(prefix)\(Self.trim(m.content))<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        }
        return out
    }

    /// Jinja's `trim`: strips leading and trailing whitespace.
    private static func trim(_ s: String) -> String {
        var t = s[...]
        while let c = t.first, c.isWhitespace { t.removeFirst() }
        while let c = t.last, c.isWhitespace { t.removeLast() }
        return String(t)
    }
}

extension Tokenizer {
    /// The chat template of this tokenizer's model (see `ChatTemplate.init(vocabulary:)`).
    public func chatTemplate() throws -> ChatTemplate { try ChatTemplate(vocabulary: vocabulary) }

    /// Ids of a conversation rendered with the model's template, turn markers parsed as
    /// special tokens and BOS added where the model wants it.
    public func encodeChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> [Int] {
        encode(try chatTemplate().render(messages, addGenerationPrompt: addGenerationPrompt),
               addSpecial: true, parseSpecial: true)
    }
}
