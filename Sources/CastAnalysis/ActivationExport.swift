import CastModels
import CastTensor
import Foundation

/// Hands captured activations to numpy: a safetensors file with one float32 `[tokens,
/// width]` tensor per point, named by the point (`blocks.3.hook_resid_post`), and the
/// tokens in its metadata; or a folder of `.npy` files, one per point, beside `tokens.json`.
extension ActivationSet {
    /// The metadata both forms carry: model, points, and each row's sequence, position, token.
    var exportMetadata: [String: String] {
        func list(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ",") + "]" }
        return [
            "format": "cast activations",
            "model": model,
            "points": points.map(\.name).joined(separator: ","),
            "token_ids": list(tokens.map { Int($0.id) }),
            "positions": list(tokens.map(\.position)),
            "sequences": list(tokens.map(\.sequence)),
            "texts": list(tokens.map(\.textIndex)),
        ]
    }

    /// Writes every point's rows, and `extra` tensors under their own names (e.g. the
    /// P_in-mapped rows of a CAST adapter, `p_in.<source point>`).
    public func writeSafetensors(to url: URL, extra: [String: Tensor] = [:]) throws {
        var writer = SafetensorsWriter(metadata: exportMetadata)
        for point in points { try writer.add(point.name, try rows(point)) }
        for (name, tensor) in extra { try writer.add(name, tensor) }
        try writer.write(to: url)
    }

    /// `folder/<point>.npy` for each point and `folder/tokens.json`.
    public func writeNumpy(folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for point in points {
            try NumpyArray.write(try rows(point), to: folder.appendingPathComponent(point.name + ".npy"))
        }
        let json = try JSONSerialization.data(withJSONObject: exportMetadata, options: [.sortedKeys, .prettyPrinted])
        try json.write(to: folder.appendingPathComponent("tokens.json"), options: .atomic)
    }
}

/// numpy's `.npy` format (version 1.0) for a float32 array: magic, header length, a Python
/// dict literal padded so the data starts on a 64-byte boundary, then the raw values.
public enum NumpyArray {
    public static func bytes(_ t: Tensor) -> [UInt8] {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        t.withUnsafeBufferPointer { p in
            let raw = UnsafeRawBufferPointer(p)
            out += raw  // little-endian float32 on every machine cast runs on
        }
        return out
    }

    public static func write(_ t: Tensor, to url: URL) throws {
        try Data(bytes(t)).write(to: url, options: .atomic)
    }
}
