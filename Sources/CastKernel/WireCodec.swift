import Foundation

/// Turns messages into ZeroMQ frames and back: identities, `<IDS|MSG>`, signature, header,
/// parent header, metadata, content, buffers. Signing happens here and nowhere else.
public struct WireCodec: Sendable {
    public static let delimiter = Data("<IDS|MSG>".utf8)
    public let signer: MessageSigner

    public init(key: String) { signer = MessageSigner(key: key) }

    public func encode(_ message: WireMessage) -> [Data] {
        let parts = [message.header.data, message.parentHeader.data, message.metadata.data, message.content.data]
        return message.identities + [Self.delimiter, Data(signer.signature(parts).utf8)] + parts + message.buffers
    }

    /// The message in `frames`, verified; an error value (never a crash) for anything else.
    public func decode(_ frames: [Data]) -> Result<WireMessage, WireError> {
        guard let split = frames.firstIndex(of: Self.delimiter) else { return .failure(.missingDelimiter) }
        let rest = Array(frames[(split + 1)...])
        guard rest.count >= 5 else { return .failure(.tooFewFrames(rest.count)) }
        let parts = Array(rest[1...4])
        // Verify before parsing: nothing from an unsigned message is even read.
        guard signer.verify(rest[0], parts) else { return .failure(.badSignature) }
        let names = ["header", "parent_header", "metadata", "content"]
        var values: [JSON] = []
        for (name, part) in zip(names, parts) {
            guard let value = JSON.parse(part), value.object != nil else { return .failure(.malformed(name)) }
            values.append(value)
        }
        guard values[0]["msg_type"]?.string?.isEmpty == false else { return .failure(.malformed("header (no msg_type)")) }
        return .success(WireMessage(identities: Array(frames[..<split]), header: values[0], parentHeader: values[1],
                                    metadata: values[2], content: values[3], buffers: Array(rest[5...])))
    }
}
