import CastScript
import Foundation

/// What `kernel_info_reply` says about the kernel and the cast language.
enum KernelInfo {
    static let implementation = "cast"
    static let implementationVersion = "0.1.0"

    static var content: JSON {
        [
            "status": "ok",
            "protocol_version": .string(WireMessage.protocolVersion),
            "implementation": .string(implementation),
            "implementation_version": .string(implementationVersion),
            "language_info": [
                "name": "cast",
                "version": .string(implementationVersion),
                "mimetype": "text/x-cast",
                "file_extension": ".cast",
                // The language reads like Python to a highlighter: # comments, quoted
                // strings, calls with keyword arguments.
                "pygments_lexer": "python",
                "codemirror_mode": "python",
                "nbconvert_exporter": "script",
            ],
            "banner": "cast — move LoRA adapters between language models. help() lists the builtins.",
            "help_links": .array(helpLinks),
            "debugger": false,
        ]
    }

    /// Links to the language reference and this kernel's guide, where the docs folder of the
    /// checkout this binary was built in still exists (file URLs: cast has no web site).
    static var helpLinks: [JSON] {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let docs = folder.appendingPathComponent("docs")
            if FileManager.default.fileExists(atPath: docs.appendingPathComponent("language.md").path) {
                return [["text": "cast language reference", "url": .string(docs.appendingPathComponent("language.md").absoluteString)],
                        ["text": "cast in Jupyter", "url": .string(docs.appendingPathComponent("kernel.md").absoluteString)]]
            }
            folder.deleteLastPathComponent()
        }
        return []
    }
}
