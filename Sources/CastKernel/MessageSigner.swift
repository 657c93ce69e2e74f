import Crypto
import Foundation

/// Signs and checks messages with HMAC-SHA256 over the four JSON frames (header, parent
/// header, metadata, content, in that order). An empty key means no signing, as Jupyter
/// specifies.
public struct MessageSigner: Sendable {
    /// The key's bytes (SymmetricKey is not Sendable; making one per message is cheap).
    private let key: Data?

    public init(key: String) {
        self.key = key.isEmpty ? nil : Data(key.utf8)
    }

    public var isSigning: Bool { key != nil }

    /// The lowercase hex signature of the frames ("" without a key).
    public func signature(_ frames: [Data]) -> String {
        guard let key else { return "" }
        var mac = HMAC<SHA256>(key: SymmetricKey(data: key))
        for frame in frames { mac.update(data: frame) }
        return Data(mac.finalize()).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` (as received) signs `frames`; compared in constant time so a
    /// forger learns nothing from how long a rejection takes.
    public func verify(_ signature: Data, _ frames: [Data]) -> Bool {
        guard isSigning else { return true }
        return Self.constantTimeEqual(Data(self.signature(frames).utf8), signature)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
