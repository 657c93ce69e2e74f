/// One named point of the forward pass: a kind at a layer (`blocks.5.hook_resid_post`), or
/// the final norm (`ln_final.hook_normalized`). Ordered as the pass computes them.
public struct ActivationPoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let kind: ActivationPointKind
    /// The decoder layer; nil only for the final norm.
    public let layer: Int?

    public init(_ kind: ActivationPointKind, layer: Int?) {
        self.kind = kind
        self.layer = kind.isPerLayer ? layer : nil
    }

    /// `blocks.{layer}.{suffix}`, or `ln_final.hook_normalized`.
    public var name: String {
        guard let layer else { return kind.suffix }
        return "blocks.\(layer).\(kind.suffix)"
    }

    public var description: String { name }

    /// Where the pass computes it: layer by layer, each kind in its computation order.
    var order: (Int, Int) {
        (layer ?? Int.max, ActivationPointKind.allKinds.firstIndex(of: kind) ?? 0)
    }

    public static func < (a: ActivationPoint, b: ActivationPoint) -> Bool { a.order < b.order }

    /// Parses a full name (`blocks.3.attn.hook_q`, `ln_final.hook_normalized`); nil when it is
    /// not one (the catalog explains why and suggests names).
    public init?(parsing name: String) {
        if name == ActivationPointKind.finalNormalized.suffix {
            self.init(.finalNormalized, layer: nil)
            return
        }
        let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "blocks", let layer = Int(parts[1]), layer >= 0,
              let kind = ActivationPointKind.allKinds.first(where: { $0.isPerLayer && $0.suffix == parts[2] })
        else { return nil }
        self.init(kind, layer: layer)
    }
}
