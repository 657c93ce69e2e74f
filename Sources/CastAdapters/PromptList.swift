import Foundation

/// Unlabelled prompts a user brings for the teacher to answer (`cast transfer --prompts`,
/// `teacher_text(…, prompts:)`): inputs of the kind the adapter was made for, without answers.
///
/// File forms: JSONL, one object a line with a string field `prompt` (other fields are
/// ignored, so a task file works; its lines with `"split": "test"` are left out, so a test
/// split never leaks into training), or plain text, one prompt a line (`\n` in a line
/// stands for a line break).
public enum PromptList {
    public static func load(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AdapterError("\(path): cannot read the prompts file")
        }
        return try parse(data, source: path)
    }

    /// The prompts in `data`; a broken line is reported as `source:line: what`.
    public static func parse(_ data: Data, source: String) throws -> [String] {
        guard let text = String(data: data, encoding: .utf8) else { throw AdapterError("\(source): not UTF-8 text") }
        // "\r\n" is one Character in Swift, so split on it as well as on "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        let firstLine = lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let isJSONL = firstLine?.trimmingCharacters(in: .whitespaces).hasPrefix("{") ?? false
        var prompts: [String] = []
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let at = "\(source):\(index + 1)"
            guard isJSONL else {
                prompts.append(String(line).replacingOccurrences(of: "\\n", with: "\n"))
                continue
            }
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)),
                  case .object(let fields) = value else {
                throw AdapterError("\(at): not a JSON object (a JSONL prompts file has one object a line, from its first line on)")
            }
            guard let prompt = fields["prompt"]?.string, !prompt.isEmpty else {
                throw AdapterError("\(at): field 'prompt' must be a non-empty string")
            }
            if fields["split"]?.string == "test" { continue }
            prompts.append(prompt)
        }
        guard !prompts.isEmpty else { throw AdapterError("\(source): no prompts (empty, or only test-split lines)") }
        return prompts
    }
}
