import Foundation

/// Where a front end keeps the pictures it shows: each value whose bundle has SVG is
/// written as plot-1.svg, plot-2.svg, … in one folder (`cast run --plots DIR`, the REPL's
/// per-session folder), so a terminal user can open the picture behind a text graphic.
public final class PlotFolder {
    public let url: URL
    public private(set) var count = 0

    public init(_ url: URL) { self.url = url }

    /// $TMPDIR/cast-plots-PID: the REPL's folder for this process.
    public static var temporary: PlotFolder {
        PlotFolder(FileManager.default.temporaryDirectory
            .appendingPathComponent("cast-plots-\(ProcessInfo.processInfo.processIdentifier)"))
    }

    /// Writes the bundle's SVG (creating the folder on first use) and returns its path;
    /// nil when the bundle has no SVG.
    public func save(_ bundle: MIMEBundle) throws -> String? {
        guard let svg = bundle[MIMEType.svg] else { return nil }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let file = url.appendingPathComponent("plot-\(count + 1).svg")
        try svg.write(to: file, atomically: true, encoding: .utf8)
        count += 1
        return file.path
    }

    /// The value's `text/plain`, and below it where its SVG went (or why it could not go).
    public func shown(_ value: Value) -> String {
        let bundle = value.display()
        let plain = bundle[MIMEType.plain] ?? value.written()
        do {
            guard let path = try save(bundle) else { return plain }
            return plain + "\nsaved " + path
        } catch {
            return plain + "\ncould not save the SVG in \(url.path): \(error.localizedDescription)"
        }
    }
}
