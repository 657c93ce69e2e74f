import Foundation

extension TokenizerVocabulary {
    /// The vocabulary of a Hugging Face `tokenizer.json` (model type BPE), refined by
    /// `tokenizer_config.json` when given (add_bos_token, add_eos_token, special token names,
    /// chat_template).
    ///
    /// Byte-level BPE is recognised by a ByteLevel pre-tokenizer or decoder; SentencePiece-style
    /// BPE by `byte_fallback`. The pre-tokenizer name (`gpt-2`, `smollm`, `qwen2`, `llama3`) is
    /// inferred from the pre-tokenizer's structure unless `preTokenizer` is given. For
    /// SentencePiece-style files, which carry no scores, a token's score is minus the rank of
    /// the merge that forms it, so that higher scores merge first as in the original.
    public init(huggingFaceTokenizer json: Data, config: Data? = nil, preTokenizer: String? = nil,
                source: String = "tokenizer.json") throws {
        let root = try Self.object(json, source)
        guard let modelObject = root["model"] as? [String: Any] else {
            throw TokenizerError.missingField(source: source, field: "model")
        }
        let type = modelObject["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw TokenizerError.unsupported("\(source): model type '\(type)' (only BPE)") }
        guard let vocab = modelObject["vocab"] as? [String: Any] else {
            throw TokenizerError.missingField(source: source, field: "model.vocab")
        }
        let merges = try Self.merges(modelObject["merges"], source)
        let added = (root["added_tokens"] as? [[String: Any]]) ?? []

        var byId: [Int: String] = [:]
        for (text, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else {
                throw TokenizerError.badField(source: source, field: "model.vocab[\(text.debugDescription)]", expected: "a non-negative integer id")
            }
            byId[id] = text
        }
        var types: [Int: TokenType] = [:]
        var leftStrip = Set<Int>(), rightStrip = Set<Int>()
        for token in added {
            guard let id = (token["id"] as? NSNumber)?.intValue, id >= 0, let content = token["content"] as? String else {
                throw TokenizerError.badField(source: source, field: "added_tokens", expected: "entries with an integer id and a content string")
            }
            byId[id] = content
            types[id] = (token["special"] as? Bool ?? false) ? .control : .userDefined
            if token["lstrip"] as? Bool == true { leftStrip.insert(id) }
            if token["rstrip"] as? Bool == true { rightStrip.insert(id) }
        }
        guard let maxId = byId.keys.max() else { throw TokenizerError.invalidVocabulary("\(source): empty vocabulary") }
        // Ids missing from both lists become unused placeholders, as llama.cpp's converter pads them.
        var tokens = [String](repeating: "", count: maxId + 1)
        var tokenTypes = [TokenType](repeating: .normal, count: maxId + 1)
        for id in 0...maxId {
            if let text = byId[id] { tokens[id] = text } else {
                tokens[id] = "[PAD\(id)]"
                tokenTypes[id] = .unused
            }
            if let t = types[id] { tokenTypes[id] = t }
        }

        let byteLevel = Self.mentions(root["pre_tokenizer"], type: "ByteLevel") || Self.mentions(root["decoder"], type: "ByteLevel")
        let byteFallback = modelObject["byte_fallback"] as? Bool ?? false
        let model: Model
        var scores: [Float]? = nil
        if byteLevel {
            model = .gpt2
        } else if byteFallback {
            model = .llama
            var s = [Float](repeating: 0, count: tokens.count)
            let idOf = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            for (rank, merge) in merges.enumerated().reversed() {
                // Split by scalars: a space followed by a combining mark is one Character.
                let parts = merge.unicodeScalars.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2,
                   let id = idOf[String(String.UnicodeScalarView(parts[0])) + String(String.UnicodeScalarView(parts[1]))] {
                    s[id] = -Float(rank)
                }
            }
            for (id, text) in tokens.enumerated() where text.count == 6 && text.hasPrefix("<0x") && text.hasSuffix(">") {
                tokenTypes[id] = .byte
            }
            scores = s
        } else {
            throw TokenizerError.unsupported("\(source): neither byte-level BPE (ByteLevel) nor SentencePiece BPE (byte_fallback)")
        }

        let cfg = try config.map { try Self.object($0, "tokenizer_config.json") } ?? [:]
        func specialId(_ key: String) -> Int? {
            var name = cfg[key] as? String
            if name == nil, let dict = cfg[key] as? [String: Any] { name = dict["content"] as? String }
            guard let name else { return nil }
            return tokens.firstIndex(of: name)
        }
        let unknownName = modelObject["unk_token"] as? String
        try self.init(
            model: model,
            preTokenizer: try preTokenizer ?? (model == .gpt2 ? Self.inferPreTokenizer(root["pre_tokenizer"], source) : "default"),
            tokens: tokens, scores: scores, tokenTypes: tokenTypes,
            merges: model == .gpt2 ? merges : [],
            bosId: specialId("bos_token"), eosId: specialId("eos_token"), padId: specialId("pad_token"),
            unknownId: specialId("unk_token") ?? unknownName.flatMap { tokens.firstIndex(of: $0) },
            addBOS: cfg["add_bos_token"] as? Bool ?? (model == .llama ? true : false),
            addEOS: cfg["add_eos_token"] as? Bool ?? false,
            addSpacePrefix: model == .llama ? Self.mentions(root["pre_tokenizer"], type: "Metaspace") || Self.prependsSpace(root["normalizer"]) : false,
            leftStripTokens: leftStrip, rightStripTokens: rightStrip,
            chatTemplate: cfg["chat_template"] as? String)
    }

    /// Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a directory.
    public init(huggingFaceDirectory directory: URL, preTokenizer: String? = nil) throws {
        let json = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try Data(contentsOf: configURL) : nil
        try self.init(huggingFaceTokenizer: Data(contentsOf: json), config: config, preTokenizer: preTokenizer,
                      source: json.path)
    }

    private static func object(_ data: Data, _ source: String) throws -> [String: Any] {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw TokenizerError.badField(source: source, field: "(document)", expected: "valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TokenizerError.badField(source: source, field: "(document)", expected: "a JSON object")
        }
        return object
    }

    /// Merges as `"left right"`, from either the string form or the newer `[left, right]` form.
    private static func merges(_ value: Any?, _ source: String) throws -> [String] {
        guard let list = value as? [Any] else { return [] }
        return try list.enumerated().map { i, m in
            if let s = m as? String { return s }
            if let pair = m as? [String], pair.count == 2 { return pair[0] + " " + pair[1] }
            throw TokenizerError.badField(source: source, field: "model.merges[\(i)]", expected: "\"a b\" or [\"a\", \"b\"]")
        }
    }

    private static func mentions(_ value: Any?, type: String) -> Bool {
        if let dict = value as? [String: Any] {
            if dict["type"] as? String == type { return true }
            return dict.values.contains { mentions($0, type: type) }
        }
        if let list = value as? [Any] { return list.contains { mentions($0, type: type) } }
        return false
    }

    private static func prependsSpace(_ normalizer: Any?) -> Bool {
        guard let dict = normalizer as? [String: Any] else {
            return (normalizer as? [Any])?.contains { prependsSpace($0) } ?? false
        }
        if dict["type"] as? String == "Prepend", dict["prepend"] as? String == "\u{2581}" { return true }
        return prependsSpace(dict["normalizers"])
    }

    /// Names the llama.cpp pre-tokenizer a byte-level `pre_tokenizer` block amounts to.
    static func inferPreTokenizer(_ value: Any?, _ source: String) throws -> String {
        var patterns: [String] = []
        var digitsIndividually = false
        func walk(_ v: Any?) {
            if let d = v as? [String: Any] {
                if d["type"] as? String == "Digits", d["individual_digits"] as? Bool == true { digitsIndividually = true }
                if d["type"] as? String == "Split", let p = d["pattern"] as? [String: Any], let r = p["Regex"] as? String {
                    patterns.append(r)
                }
                d.values.forEach(walk)
            } else if let l = v as? [Any] {
                l.forEach(walk)
            }
        }
        walk(value)
        if let regex = patterns.first(where: { $0.contains("\\p{L}") }) {
            if regex.contains("\\p{N}{1,3}") { return "llama3" }
            if regex.contains("\\p{N}|") { return "qwen2" }
            if regex.contains(" ?\\p{N}+") { return digitsIndividually ? "smollm" : "gpt-2" }
            throw TokenizerError.unsupported("\(source): pre-tokenizer regex \(regex.debugDescription)")
        }
        return digitsIndividually ? "smollm" : "gpt-2"
    }
}
