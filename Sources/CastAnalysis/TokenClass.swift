import Foundation

/// A coarse class of a token's text, to colour points in pictures: word, number,
/// punctuation, whitespace, or special (BOS, chat markers, byte pieces).
public enum TokenClass: String, CaseIterable, Sendable {
    case word, number, punctuation, whitespace, special

    public init(text: String?) {
        guard let text, !text.isEmpty else { self = .special; return }
        let stripped = text.replacingOccurrences(of: "▁", with: " ").replacingOccurrences(of: "Ġ", with: " ")
        if stripped.hasPrefix("<") && stripped.hasSuffix(">") && stripped.count > 2 { self = .special; return }
        let trimmed = stripped.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { self = .whitespace; return }
        if trimmed.unicodeScalars.allSatisfy({ CharacterSet.decimalDigits.contains($0) }) { self = .number; return }
        if trimmed.unicodeScalars.contains(where: { CharacterSet.letters.contains($0) }) { self = .word; return }
        self = .punctuation
    }
}
