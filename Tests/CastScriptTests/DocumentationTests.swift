import CastTestSupport
import Foundation
import Testing
@testable import CastScript

@Suite("Documentation", .serialized)
struct DocumentationTests {
    static let file = TestSupport.repository.appendingPathComponent("docs/language.md")

    /// docs/language.md holds the reference generated from the builtin registry, so help()
    /// and the docs cannot drift. `CAST_UPDATE_DOCS=1` rewrites the generated part.
    @Test("docs/language.md holds the builtin reference generated from the registry")
    func referenceIsCurrent() throws {
        var text = try String(contentsOf: Self.file, encoding: .utf8)
        let reference = Documentation.reference()
        if ProcessInfo.processInfo.environment["CAST_UPDATE_DOCS"] == "1" {
            if let begin = text.range(of: Documentation.referenceBegin), let end = text.range(of: Documentation.referenceEnd) {
                text.replaceSubrange(begin.lowerBound..<end.upperBound, with: reference)
            } else {
                text += reference + "\n"
            }
            try text.write(to: Self.file, atomically: true, encoding: .utf8)
        }
        let current = text.contains(reference)
        #expect(current, "docs/language.md is out of date: run the tests with CAST_UPDATE_DOCS=1")
    }

    @Test("help(name) shows each builtin's signature, paragraph and example, as the docs do")
    func helpAgreesWithDocs() throws {
        let interpreter = Interpreter(builtins: Builtins.all)
        let docs = try String(contentsOf: Self.file, encoding: .utf8)
        for builtin in Builtins.all {
            let page = try interpreter.evaluate("help(\(builtin.name))").plainText
            #expect(page == builtin.documentation)
            #expect(try interpreter.evaluate("help(\"\(builtin.name)\")").plainText.hasPrefix(page))
            #expect(page.hasPrefix(builtin.signature))
            let documented = docs.contains(builtin.signature) && docs.contains(builtin.help) && docs.contains(builtin.example)
            #expect(documented, "docs/language.md lacks \(builtin.name)'s signature, help or example")
            #expect(!builtin.help.isEmpty && !builtin.example.isEmpty)
        }
        let overview = try interpreter.evaluate("help()").plainText
        for builtin in Builtins.all { #expect(overview.contains("  \(builtin.name) ")) }
        for page in Documentation.objectTypes {
            #expect(try interpreter.evaluate("help(\"\(page.name)\")").plainText.hasSuffix(page.text))
            let documented = docs.contains("### `\(page.name)`")
            #expect(documented, "docs/language.md lacks the type \(page.name)")
        }
    }

    /// Every example in the registry parses (the model ones need a model to run).
    @Test("every builtin's example parses")
    func examplesParse() throws {
        for builtin in Builtins.all {
            #expect(throws: Never.self, "\(builtin.name)") { try Parser.parse(builtin.example) }
        }
    }
}
