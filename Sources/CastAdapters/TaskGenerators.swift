import CastTensor
import Foundation

/// The built-in task suites, generated from a fixed seed (the same examples on every
/// machine; `cast tasks write datasets/` writes them as the JSONL files kept in the repo).
/// Each is a behaviour no base model has out of the box (Qwen2.5 already adds numbers and
/// writes ISO dates, so the conventions are private ones) and a LoRA learns:
/// - `arith`: a private operator, `a ⊕ b = a + b + 1`, on a three- and a two-digit number
///   (a computation the prompt does not explain; short answer);
/// - `dates`: a spelled-out date in "house style", `DD.MM.YY` (a format mapping the prompt
///   does not explain; multi-token answer);
/// - `reverse`: reverse the order of four to six words (a transformation of the prompt's
///   own text; multi-token answer).
public struct TaskGenerators: Sendable {
    public let name: String
    public let summary: String
    let make: @Sendable (inout SeededGenerator) -> (prompt: String, answer: String)

    static let examples = 1000, testFraction = 5  // one in five to test

    public static let all: [TaskGenerators] = [
        TaskGenerators(name: "arith", summary: "a private operator: a ⊕ b = a + b + 1", make: { rng in
            let a = 100 + Int(rng.next() % 900), b = 10 + Int(rng.next() % 90)
            return ("Compute \(a) ⊕ \(b).\nAnswer:", "\(a + b + 1)")
        }),
        TaskGenerators(name: "dates", summary: "a spelled-out date in house style, DD.MM.YY", make: { rng in
            let month = Int(rng.next() % 12), year = 1950 + Int(rng.next() % 80)
            let day = 1 + Int(rng.next() % UInt64(TaskGenerators.daysIn[month]))
            let answer = String(format: "%02d.%02d.%02d", day, month + 1, year % 100)
            return ("Write the date \(day) \(TaskGenerators.months[month]) \(year) in house style.\nAnswer:", answer)
        }),
        TaskGenerators(name: "reverse", summary: "reverse the order of four to six words", make: { rng in
            let count = 4 + Int(rng.next() % 3)
            let picked = (0..<count).map { _ in TaskGenerators.words[Int(rng.next() % UInt64(TaskGenerators.words.count))] }
            return ("Reverse the order of the words: \(picked.joined(separator: " "))\nAnswer:",
                    picked.reversed().joined(separator: " "))
        }),
    ]

    public static func named(_ name: String) -> TaskGenerators? { all.first { $0.name == name } }

    /// `examples` distinct prompts (seed: the task's name), the last fifth as the test split.
    public func suite() throws -> TaskSuite {
        var seed: UInt64 = 0x5eed
        for byte in name.utf8 { seed = seed &* 31 &+ UInt64(byte) }
        var rng = SeededGenerator(seed: seed)
        var seen = Set<String>(), examples: [TaskExample] = []
        while examples.count < Self.examples {
            let (prompt, answer) = make(&rng)
            guard seen.insert(prompt).inserted else { continue }
            examples.append(TaskExample(prompt: prompt, answer: answer))
        }
        let testCount = Self.examples / Self.testFraction
        let train = examples.dropLast(testCount).map { TaskExample(prompt: $0.prompt, answer: $0.answer, split: "train") }
        let test = examples.suffix(testCount).map { TaskExample(prompt: $0.prompt, answer: $0.answer, split: "test") }
        return try TaskSuite(name: name, train: train, test: test)
    }

    static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                         "September", "October", "November", "December"]
    static let daysIn = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    static let words = """
        apple river stone cloud garden window yellow forest silver candle mountain ocean pencil \
        bridge winter summer market castle dragon rabbit orange purple engine rocket planet valley \
        thunder blanket mirror ladder basket kitten violin island desert harbor lemon cotton pepper \
        marble copper velvet meadow lantern compass feather anchor saddle tunnel meteor glacier \
        jungle canyon pillow button circle square bottle hammer needle shadow spirit sugar tiger \
        turtle wizard zebra bamboo cactus dolphin falcon honey iron jacket kettle lizard magnet \
        napkin oyster parrot quartz raven salmon tomato umbrella walnut
        """.split(separator: " ").map(String.init)
}
