/// Colours for categories and series: the Okabe–Ito set, which people with the common
/// colour-vision deficiencies can still tell apart, ordered so neighbours contrast, with
/// its yellow left out (unreadable on white) and a dark grey instead of black.
public enum Palette {
    public static let categorical = [
        "#0072B2", // blue
        "#D55E00", // vermillion
        "#009E73", // bluish green
        "#CC79A7", // reddish purple
        "#E69F00", // orange
        "#56B4E9", // sky blue
        "#444444", // dark grey
    ]

    /// The colour of category or series `index`; past the palette's end colours repeat
    /// (markers and dashes then tell them apart).
    public static func color(_ index: Int) -> String { categorical[index % categorical.count] }

    /// Which repetition of the palette `index` falls in (0 for the first seven).
    static func cycle(_ index: Int) -> Int { index / categorical.count }
}
