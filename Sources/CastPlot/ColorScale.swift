import Foundation

/// A sequential colour scale for heatmaps, dark purple (low) through blue and green to
/// yellow (high): even steps in lightness, readable in grey and by colour-blind readers.
/// The anchor colours are sampled from matplotlib's viridis map.
public enum ColorScale {
    static let anchors: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37),
    ]

    /// The colour at `fraction` (0…1, clamped) as "#rrggbb".
    public static func color(_ fraction: Double) -> String {
        let (r, g, b) = rgb(fraction)
        return String(format: "#%02X%02X%02X", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    static func rgb(_ fraction: Double) -> (Double, Double, Double) {
        let t = min(1, max(0, fraction.isFinite ? fraction : 0)) * Double(anchors.count - 1)
        let i = min(anchors.count - 2, Int(t))
        let u = t - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return (a.0 + (b.0 - a.0) * u, a.1 + (b.1 - a.1) * u, a.2 + (b.2 - a.2) * u)
    }

    /// Whether text on the colour at `fraction` should be dark (the colour is light).
    static func wantsDarkText(_ fraction: Double) -> Bool {
        let (r, g, b) = rgb(fraction)
        return 0.299 * r + 0.587 * g + 0.114 * b > 140
    }
}
