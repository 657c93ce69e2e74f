import Foundation

/// The connection file Jupyter writes and passes as `{connection_file}`: where the five
/// sockets live and the key that signs every message.
public struct ConnectionInfo: Codable, Sendable, Equatable {
    public var transport: String
    public var ip: String
    public var shellPort: Int
    public var controlPort: Int
    public var stdinPort: Int
    public var iopubPort: Int
    public var hbPort: Int
    public var key: String
    public var signatureScheme: String
    public var kernelName: String?

    enum CodingKeys: String, CodingKey {
        case transport, ip, key
        case shellPort = "shell_port", controlPort = "control_port", stdinPort = "stdin_port"
        case iopubPort = "iopub_port", hbPort = "hb_port"
        case signatureScheme = "signature_scheme", kernelName = "kernel_name"
    }

    public init(transport: String = "tcp", ip: String = "127.0.0.1", shellPort: Int, controlPort: Int, stdinPort: Int,
                iopubPort: Int, hbPort: Int, key: String, signatureScheme: String = "hmac-sha256") {
        self.transport = transport
        self.ip = ip
        self.shellPort = shellPort
        self.controlPort = controlPort
        self.stdinPort = stdinPort
        self.iopubPort = iopubPort
        self.hbPort = hbPort
        self.key = key
        self.signatureScheme = signatureScheme
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transport = try c.decodeIfPresent(String.self, forKey: .transport) ?? "tcp"
        ip = try c.decodeIfPresent(String.self, forKey: .ip) ?? "127.0.0.1"
        shellPort = try c.decode(Int.self, forKey: .shellPort)
        controlPort = try c.decode(Int.self, forKey: .controlPort)
        stdinPort = try c.decode(Int.self, forKey: .stdinPort)
        iopubPort = try c.decode(Int.self, forKey: .iopubPort)
        hbPort = try c.decode(Int.self, forKey: .hbPort)
        key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
        signatureScheme = try c.decodeIfPresent(String.self, forKey: .signatureScheme) ?? "hmac-sha256"
        kernelName = try c.decodeIfPresent(String.self, forKey: .kernelName)
    }

    /// Reads and checks a connection file.
    public static func load(path: String) throws -> ConnectionInfo {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw KernelError("cannot read the connection file \(path): \(error.localizedDescription)")
        }
        let info: ConnectionInfo
        do { info = try JSONDecoder().decode(ConnectionInfo.self, from: data) } catch {
            throw KernelError("\(path) is not a Jupyter connection file: \(error)")
        }
        guard ["tcp", "ipc"].contains(info.transport) else {
            throw KernelError("\(path): transport must be tcp or ipc, got \(info.transport)")
        }
        guard info.signatureScheme == "hmac-sha256" || info.key.isEmpty else {
            throw KernelError("\(path): only the hmac-sha256 signature scheme is supported, got \(info.signatureScheme)")
        }
        return info
    }

    /// The ZeroMQ endpoint of a port: `tcp://ip:port`, or `ipc://ip-port` (Jupyter's ipc
    /// naming: the `ip` field is a path prefix).
    public func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

/// A kernel failure with a message for the person running it.
public struct KernelError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
