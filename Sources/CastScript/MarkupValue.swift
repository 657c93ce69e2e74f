/// HTML or SVG text that a notebook renders (and a terminal shows as a short description):
/// what `html(…)` and `svg(…)` make.
public final class MarkupValue: ScriptObject {
    public static let typeName = "markup"
    public static let summary = "HTML or SVG that a notebook renders; the terminal shows a one-line description."
    public let text: String
    /// `text/html` or `image/svg+xml`.
    public let mimeType: String

    public init(_ text: String, mimeType: String) {
        self.text = text
        self.mimeType = mimeType
    }

    public static var attributes: [Attribute<MarkupValue>] {
        [Attribute("text", "The markup as a string.") { .string($0.text) },
         Attribute("mime", "Its MIME type: text/html or image/svg+xml.") { .string($0.mimeType) }]
    }

    public func display() -> MIMEBundle { [MIMEType.plain: brief, mimeType: text] }

    public var brief: String {
        "<\(mimeType == MIMEType.svg ? "svg image" : "html") \(text.unicodeScalars.count) characters>"
    }
}
