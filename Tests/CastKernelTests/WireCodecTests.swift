import Crypto
import Foundation
import Testing
@testable import CastKernel

/// Framing, signing and hostile input of the wire protocol, without sockets.
@Suite("wire protocol: framing and signing")
struct WireCodecTests {
    let codec = WireCodec(key: "a2b0c1d4-secret")

    func request(_ type: String = "execute_request", content: JSON = ["code": "1 + 1"]) -> WireMessage {
        var message = WireMessage.make(type, content: content, session: "client-session")
        message.identities = [Data("client-identity".utf8), Data([0, 1, 2, 255])]
        message.buffers = [Data([9, 8, 7])]
        return message
    }

    @Test("a message survives encode and decode: identities, the four dictionaries, buffers")
    func roundTrip() throws {
        let message = request()
        let frames = codec.encode(message)
        #expect(frames[2] == WireCodec.delimiter)
        #expect(frames.count == 2 + 2 + 4 + 1)
        let decoded = try codec.decode(frames).get()
        #expect(decoded.identities == message.identities)
        #expect(decoded.header == message.header)
        #expect(decoded.content == message.content)
        #expect(decoded.buffers == message.buffers)
        #expect(decoded.type == "execute_request")
    }

    @Test("the signature is HMAC-SHA256 (hex) of header, parent header, metadata and content, in that order")
    func signatureIsHMAC() throws {
        let frames = codec.encode(request())
        let parts = Array(frames[4...7])
        let mac = HMAC<SHA256>.authenticationCode(for: parts.reduce(Data(), +), using: SymmetricKey(data: Data("a2b0c1d4-secret".utf8)))
        let hex = Data(mac).map { String(format: "%02x", $0) }.joined()
        #expect(String(decoding: frames[3], as: UTF8.self) == hex)
        // The RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let known = MessageSigner(key: "key").signature([Data("The quick brown fox ".utf8), Data("jumps over the lazy dog".utf8)])
        #expect(known == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test("a wrong, truncated, upper-cased or missing signature is rejected; so is a changed frame")
    func badSignatures() {
        var frames = codec.encode(request())
        let good = frames[3]
        for bad in [Data(), Data("0".utf8), good.dropLast(), Data(String(decoding: good, as: UTF8.self).uppercased().utf8),
                    Data(repeating: UInt8(ascii: "a"), count: 64)] {
            frames[3] = bad
            #expect(codec.decode(frames).failure == .badSignature)
        }
        frames[3] = good
        frames[7] = Data(#"{"code": "print(\"pwned\")"}"#.utf8)
        #expect(codec.decode(frames).failure == .badSignature)
        // Another key's signature is as bad as none.
        #expect(WireCodec(key: "other").decode(codec.encode(request())).failure == .badSignature)
    }

    @Test("with an empty key nothing is signed and any signature is accepted")
    func emptyKey() throws {
        let open = WireCodec(key: "")
        let frames = open.encode(request())
        #expect(frames[3].isEmpty)
        #expect(try open.decode(frames).get().type == "execute_request")
    }

    @Test("malformed frames come back as errors, never crashes")
    func malformed() {
        let frames = codec.encode(request())
        #expect(codec.decode([]).failure == .missingDelimiter)
        #expect(codec.decode([Data("x".utf8)]).failure == .missingDelimiter)
        #expect(codec.decode(Array(frames.prefix(6))).failure == .tooFewFrames(3))
        // Signed garbage: the signature checks out, the JSON does not.
        let signer = MessageSigner(key: "a2b0c1d4-secret")
        for (i, name) in ["header", "parent_header", "metadata", "content"].enumerated() {
            var parts = Array(frames[4...7])
            parts[i] = Data("{not json".utf8)
            let forged = [WireCodec.delimiter, Data(signer.signature(parts).utf8)] + parts
            #expect(codec.decode(forged).failure == .malformed(name))
        }
        var parts = Array(frames[4...7])
        parts[0] = Data(#"{"msg_id": "x"}"#.utf8)
        #expect(codec.decode([WireCodec.delimiter, Data(signer.signature(parts).utf8)] + parts).failure
                == .malformed("header (no msg_type)"))
        parts[0] = Data("[1, 2]".utf8)
        #expect(codec.decode([WireCodec.delimiter, Data(signer.signature(parts).utf8)] + parts).failure == .malformed("header"))
    }

    @Test("random frames never crash the decoder")
    func randomFrames() {
        var generator = SystemRandomNumberGenerator()
        let open = WireCodec(key: "")
        for _ in 0..<2000 {
            var frames: [Data] = (0..<Int.random(in: 0...9, using: &generator)).map { _ in
                Data((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            if Bool.random(using: &generator) { frames.insert(WireCodec.delimiter, at: Int.random(in: 0...frames.count, using: &generator)) }
            _ = codec.decode(frames)
            _ = open.decode(frames)
        }
    }

    @Test("a reply goes back to the request's identities with the request as parent")
    func replyDerivesFromRequest() {
        let request = request()
        let reply = request.reply("execute_reply", content: ["status": "ok"], session: "kernel-session")
        #expect(reply.identities == request.identities)
        #expect(reply.parentHeader == request.header)
        #expect(reply.type == "execute_reply")
        #expect(reply.session == "kernel-session")
        #expect(reply.id != request.id)
        #expect(reply.header["version"] == "5.3")
        let date = reply.header["date"]?.string ?? ""
        #expect(date.count == 27 && date.hasSuffix("Z"), "\(date)")
    }

    @Test("constant-time comparison agrees with ==")
    func constantTime() {
        let samples = [Data(), Data("a".utf8), Data("ab".utf8), Data("ba".utf8), Data("abc".utf8)]
        for a in samples { for b in samples { #expect(MessageSigner.constantTimeEqual(a, b) == (a == b)) } }
    }

    @Test("JSON keeps integers integers and reads what Jupyter sends")
    func json() throws {
        let value = JSON.parse(Data(#"{"n": 3, "x": 0.5, "b": true, "s": "é", "l": [null, 1], "o": {}}"#.utf8))
        #expect(value?["n"] == .int(3))
        #expect(value?["x"] == .double(0.5))
        #expect(value?["b"] == .bool(true))
        #expect(value?["l"] == [.null, .int(1)])
        #expect(String(decoding: JSON.object(["execution_count": .int(7)]).data, as: UTF8.self) == #"{"execution_count":7}"#)
        #expect(JSON.parse(Data("{".utf8)) == nil)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { f } else { nil } }
}

@Suite("message dates")
struct MessageDateTests {
    @Test("ISO 8601 dates as Jupyter writes them, to the microsecond, with Z or an offset")
    func parse() throws {
        let date = try #require(MessageDate.parse("2026-12-07T08:33:59.662116Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_796_632_439.662116) < 1e-5)
        #expect(MessageDate.parse("2026-12-07T09:33:59.662116+01:00") == date)
        #expect(MessageDate.parse("2026-12-07T08:33:59Z")?.timeIntervalSince1970 == 1_796_632_439)
        let now = Date()
        let written = try #require(MessageDate.parse(WireMessage.timestamp(now)))
        #expect(abs(written.timeIntervalSince(now)) < 1e-5)
        for bad in ["", "yesterday", "2026-12-07", "2026-1x-07T08:33:59Z"] { #expect(MessageDate.parse(bad) == nil) }
    }
}
