import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// Comparing models with different tokenizers, on cases worked out by hand.
@Suite("CAST across vocabularies: alignment and the shared-token KL by hand")
struct TokenAlignmentTests {
    static let text = "Xenotransplantation: 1987 très"

    /// Each tokenizer's pieces (checked, so a tokenizer change shows here first), the byte
    /// offset each piece ends at, and the aligned positions written out by hand.
    @Test(arguments: [
        // smollm2: X en otrans plant ation : ␣ 1 9 8 7 ␣tr ès → ends 1 3 9 14 19 20 21 22 23 24 25 28 31
        // qwen2.5: X en ot rans plant ation : ␣ 1 9 8 7 ␣très → ends 1 3 5 9 14 19 20 21 22 23 24 25 31
        // (smollm2's "␣tr" (28) and qwen's "ot" (5) have no partner)
        ("qwen2.5-0.5b", ["X", "en", "ot", "rans", "plant", "ation", ":", " ", "1", "9", "8", "7", " très"],
         [(0, 0), (1, 1), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 10), (10, 11), (12, 12)]),
        // gemma3: <bos> X en otrans plantation : ▁ 1 9 8 7 ▁très → ends 0 1 3 9 19 20 21 22 23 24 25 31
        // (BOS ends at 0 and pairs with nothing; smollm2's "plant" (14) and "␣tr" (28) have no partner)
        ("gemma3-270m", ["<bos>", "X", "en", "otrans", "plantation", ":", " ", "1", "9", "8", "7", " très"],
         [(0, 1), (1, 2), (2, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9), (10, 10), (12, 11)]),
    ] as [(String, [String], [(Int, Int)])])
    func alignmentByHand(_ target: String, _ targetPieces: [String], _ expected: [(Int, Int)]) throws {
        let smol = try TestModels.tokenizer("smollm2-135m"), other = try TestModels.tokenizer(target)
        let bytes = Array(Self.text.utf8)
        func pieces(_ t: Tokenizer, _ ids: [Int]) -> [String] {
            ids.map { id in t.textBytes(of: id).map { String(decoding: $0, as: UTF8.self) }.flatMap { $0.isEmpty ? nil : $0 } ?? "<bos>" }
        }
        let a = smol.encode(Self.text, addSpecial: true, parseSpecial: false)
        let b = other.encode(Self.text, addSpecial: true, parseSpecial: false)
        #expect(pieces(smol, a) == ["X", "en", "otrans", "plant", "ation", ":", " ", "1", "9", "8", "7", " tr", "ès"])
        #expect(pieces(other, b) == targetPieces)
        let pairs = TokenAlignment.pairs(TokenAlignment.endOffsets(a.map { Int32($0) }, tokenizer: smol, text: bytes),
                                         TokenAlignment.endOffsets(b.map { Int32($0) }, tokenizer: other, text: bytes))
        #expect(pairs.map { [$0.0, $0.1] } == expected.map { [$0.0, $0.1] })
    }

    /// A token whose bytes are not the text's at that point ends the alignment there.
    @Test func mismatchStopsTheOffsets() throws {
        let smol = try TestModels.tokenizer("smollm2-135m")
        let ids = smol.encode("cat sat", addSpecial: false, parseSpecial: false).map { Int32($0) }
        let ends = TokenAlignment.endOffsets(ids, tokenizer: smol, text: Array("cat mat".utf8))
        #expect(ends == [3, nil])
    }

    /// The KL over shared tokens, by hand: teacher vocabulary of 4, student of 5, sharing
    /// teacher 0 ↔ student 3 and teacher 2 ↔ student 0. Each side is renormalised over its
    /// shared tokens; the loss is α·T²·mean KL + β·MSE(H·h_s, h_t).
    @Test func sharedTokenKLByHand() throws {
        let shared = SharedVocabulary(source: [0, 2], target: [3, 0])
        let teacher = try Tensor([1.0, 5.0, -1.0, 2.0, 0.5, 0.0, 2.5, 9.0], shape: [2, 4])
        let student = try Tensor([0.0, 7.0, 3.0, 3.0, -4.0, 1.5, 0.0, 0.0, -1.0, 8.0], shape: [2, 5])
        let t: Float = 2, alpha: Float = 0.5, beta: Float = 3
        // Position 0: teacher (z0, z2) = (1, -1), student (z3, z0) = (3, 0).
        // Position 1: teacher (0.5, 2.5), student (-1, 1.5).
        func kl(_ p: (Float, Float), _ q: (Float, Float)) -> Float {
            func softmax(_ z: (Float, Float)) -> (Float, Float) {
                let m = max(z.0, z.1), e0 = exp((z.0 - m) / t), e1 = exp((z.1 - m) / t)
                return (e0 / (e0 + e1), e1 / (e0 + e1))
            }
            let a = softmax(p), b = softmax(q)
            return a.0 * log(a.0 / b.0) + a.1 * log(a.1 / b.1)
        }
        let klMean = (kl((1, -1), (3, 0)) + kl((0.5, 2.5), (-1, 1.5))) / 2
        // Hidden: d_s = 2, d_t = 1; H = [[2], [-1]] maps h_s = 1 → (2, -1), h_s = 3 → (6, -3).
        let head = try Tensor([2.0, -1.0], shape: [2, 1])
        let studentHidden = try Tensor([1.0, 3.0], shape: [2, 1])
        let teacherHidden = try Tensor([2.0, 0.0, 5.0, -3.0], shape: [2, 2])
        let mse: Float = (0 + 1 + 1 + 0) / 4
        let loss = DistillationLoss(alpha: alpha, beta: beta, temperature: t)
        let r = try loss.evaluate(.init(studentLogits: student, teacherLogits: teacher, shared: shared, studentHidden: studentHidden,
                                        teacherHidden: teacherHidden, head: head), gradients: true)
        #expect(abs(r.kl - klMean) < 1e-6 && abs(r.mse - mse) < 1e-6)
        #expect(abs(r.loss - (alpha * t * t * klMean + beta * mse)) < 1e-5)
        // Logits of tokens the other vocabulary lacks get no gradient.
        let d = r.dStudentLogits!.scalars
        #expect([1, 2, 4, 6, 7, 9].allSatisfy { d[$0] == 0 } && [0, 3, 5, 8].allSatisfy { d[$0] != 0 })
    }
}
