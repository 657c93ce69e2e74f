import CastTestSupport
import Foundation
import Testing
@testable import CastModels

/// Chat templates: the text they render (written out by hand here) and, for the real models,
/// the text and ids the model's own Jinja template gives under llama.cpp (recorded reference).
@Suite struct ChatTemplateTests {
    let conversation: [ChatMessage] = [.user("What is 2+2?"), .assistant("4"), .user("And 3+3?")]

    @Test func chatMLWithDefaultSystemPrompt() {
        let t = ChatTemplate.chatML(defaultSystemPrompt: "Be kind.")
        #expect(t.render(conversation, addGenerationPrompt: true) ==
            "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
            + "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n")
        #expect(t.render([.system("S"), .user("U")], addGenerationPrompt: false) ==
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
    }

    @Test func gemmaTurns() {
        #expect(ChatTemplate.gemma.render([.system("Be terse."), .user("  Hi  "), .assistant("Hello")],
                                          addGenerationPrompt: true) ==
            "<start_of_turn>user\nBe terse.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>model\n")
    }

    @Test func defaultSystemPromptsFromModelTemplates() throws {
        let smol = try ChatTemplate(vocabulary: TestModels.tokenizer("smollm2-135m").vocabulary)
        #expect(smol == .chatML(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        let qwen = try ChatTemplate(vocabulary: TestModels.tokenizer("qwen2.5-0.5b").vocabulary)
        #expect(qwen == .chatML(defaultSystemPrompt: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
        let gemma = try ChatTemplate(vocabulary: TestModels.tokenizer("gemma3-270m").vocabulary)
        #expect(gemma == .gemma)
    }

    /// Same text and same ids as the model's Jinja template rendered and tokenized by llama.cpp.
    @Test(arguments: ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"])
    func matchesRecordedConversation(model: String) throws {
        let tokenizer = try TestModels.tokenizer(model)
        let reference = try TokenizerReference.load(model)
        try #require(reference.chat.count == 2, "no recorded conversations for \(model)")
        let template = try ChatTemplate(vocabulary: tokenizer.vocabulary)
        for (name, chat) in reference.chat {
            let messages = chat.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let text = template.render(messages, addGenerationPrompt: true)
            #expect(text == chat.text, "\(model) \(name)")
            #expect(tokenizer.encode(text) == chat.ids, "\(model) \(name)")
            #expect(try tokenizer.encodeChat(messages) == chat.ids, "\(model) \(name)")
        }
    }
}
