import Foundation

/// One Jupyter message (protocol 5.3): the routing identities, header, parent header,
/// metadata, content and binary buffers. Replies are made from their request
/// (`reply(_:content:)`), which copies the identities and sets the parent, so a reply
/// cannot go to the wrong client or name the wrong request.
public struct WireMessage: Sendable {
    public static let protocolVersion = "5.3"

    public var identities: [Data]
    public var header: JSON
    public var parentHeader: JSON
    public var metadata: JSON
    public var content: JSON
    public var buffers: [Data]

    public init(identities: [Data] = [], header: JSON, parentHeader: JSON = [:], metadata: JSON = [:],
                content: JSON = [:], buffers: [Data] = []) {
        self.identities = identities
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
    }

    public var type: String { header["msg_type"]?.string ?? "" }
    public var id: String { header["msg_id"]?.string ?? "" }
    public var session: String { header["session"]?.string ?? "" }
    public var username: String { header["username"]?.string ?? "" }

    /// A new message of `type` from the kernel's `session`, answering `parent` if given.
    public static func make(_ type: String, content: JSON, session: String, parent: WireMessage? = nil,
                            identities: [Data] = [], metadata: JSON = [:]) -> WireMessage {
        let header: JSON = [
            "msg_id": .string(UUID().uuidString.lowercased()),
            "session": .string(session),
            "username": .string(parent?.username.isEmpty == false ? parent!.username : "kernel"),
            "date": .string(Self.timestamp()),
            "msg_type": .string(type),
            "version": .string(protocolVersion),
        ]
        return WireMessage(identities: identities, header: header, parentHeader: parent?.header ?? [:],
                           metadata: metadata, content: content)
    }

    /// The reply to this request on the socket it came from: same identities, this as parent.
    public func reply(_ type: String, content: JSON, session: String, metadata: JSON = [:]) -> WireMessage {
        Self.make(type, content: content, session: session, parent: self, identities: identities, metadata: metadata)
    }

    /// ISO 8601 with microseconds and a zone, as Jupyter writes dates.
    static func timestamp(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let micros = Int((seconds - Double(whole)) * 1_000_000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
    }
}
