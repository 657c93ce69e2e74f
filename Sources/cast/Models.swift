import ArgumentParser
import CastModels
import Foundation

/// `cast models`: what the registry knows and what the cache holds.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models and corpora cast can fetch, and which are cached.")

    @Flag(help: "Print JSON instead of a table.") var json = false

    /// One row of the listing; also the JSON shape.
    struct Listing: Codable {
        let name: String
        let kind: String
        let architecture: String?
        let parameters: Int?
        let size: Int64
        let sha256: String
        let status: String
        let path: String
        let licence: String
        let packages: [String]
        let description: String
    }

    func run() throws {
        let layout = CacheLayout()
        let rows = ModelRegistry.all.map { entry in
            Listing(name: entry.name, kind: entry.kind.rawValue, architecture: entry.architecture,
                    parameters: entry.parameterCount, size: entry.file.size, sha256: entry.file.sha256,
                    status: ModelStore.status(of: entry, root: layout.root).rawValue,
                    path: layout.path(for: entry).path, licence: entry.licence.name,
                    packages: entry.file.parts.map(\.requirement), description: entry.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        let header = ["NAME", "KIND", "ARCH", "PARAMS", "SIZE", "CACHED", "LICENCE", "DESCRIPTION"]
        let cells = rows.map { row in
            [row.name, row.kind, row.architecture ?? "-", row.parameters.map(Self.formatCount) ?? "-",
             formatBytes(row.size), Self.cachedLabel(row.status), row.licence, row.description]
        }
        print(TextTable(header: header, rows: cells, rightAligned: [3, 4]).render())
        print("cache: \(layout.root.path)")
    }

    static func cachedLabel(_ status: String) -> String {
        switch CacheStatus(rawValue: status) {
        case .verified: "yes"
        case .unverified: "yes (unverified)"
        default: "no"
        }
    }

    /// 134515008 → "134.5M".
    static func formatCount(_ count: Int) -> String {
        count >= 1_000_000_000
            ? String(format: "%.2fB", Double(count) / 1e9)
            : String(format: "%.1fM", Double(count) / 1e6)
    }
}

/// A plain aligned text table: columns padded to their widest cell, two spaces apart.
struct TextTable {
    let header: [String]
    let rows: [[String]]
    var rightAligned: Set<Int> = []

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                if column == row.count - 1 { return cell }
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
