import Foundation

/// One benchmark row: our figure beside a peer's, measured in the same run.
struct BenchRow: Codable {
    var name: String
    var value: Double
    var unit: String
    var peer: String
    var peer_value: Double
    var ratio: Double

    init(name: String, value: Double, unit: String, peer: String, peerValue: Double) {
        self.name = name
        self.value = value
        self.unit = unit
        self.peer = peer
        self.peer_value = peerValue
        self.ratio = peerValue == 0 ? 0 : value / peerValue
    }
}

/// A benchmark's output: the machine, the environment that affects speed, and the rows.
struct BenchReport: Codable {
    var machine: String
    var env: [String: String]
    var rows: [BenchRow] = []

    init() {
        machine = BenchReport.describeMachine()
        let environment = ProcessInfo.processInfo.environment
        env = [
            "OPENBLAS_CORETYPE": environment["OPENBLAS_CORETYPE"] ?? "(unset)",
            "OPENBLAS_L2_SIZE": environment["OPENBLAS_L2_SIZE"] ?? "(unset)",
            "threads": String(ProcessInfo.processInfo.activeProcessorCount),
            "date": ISO8601DateFormatter().string(from: Date()),
        ]
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// An aligned text table: name, our value, the peer's, and the ratio.
    func table() -> String {
        let header = ["benchmark", "cast", "peer", "peer value", "ratio", "unit"]
        let body = rows.map { row in
            [row.name, format(row.value), row.peer, format(row.peer_value),
             String(format: "%.2f×", row.ratio), row.unit]
        }
        let all = [header] + body
        let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        let lines = all.map { cells in
            zip(cells, widths).enumerated().map { i, pair in
                i == 0 || i == 2 || i == 5 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0)
                                           : String(repeating: " ", count: pair.1 - pair.0.count) + pair.0
            }.joined(separator: "  ")
        }
        var text = "machine: \(machine)\n"
        text += "env: " + env.keys.sorted().map { "\($0)=\(env[$0]!)" }.joined(separator: " ") + "\n"
        text += lines[0] + "\n" + String(repeating: "-", count: lines[0].count) + "\n"
        text += lines.dropFirst().joined(separator: "\n")
        return text
    }

    private func format(_ x: Double) -> String {
        x >= 100 ? String(format: "%.0f", x) : x >= 10 ? String(format: "%.1f", x) : String(format: "%.2f", x)
    }

    static func describeMachine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(String(format: "%.0f", memory)) GiB"
    }
}

/// Times ours and the peer's alternately (so drift in machine load hits both alike) and
/// returns the fastest run of each in seconds.
func fastestRuns(minSeconds: Double = 0.6, minRuns: Int = 3, ours: () throws -> Void,
                 peer: () throws -> Void) rethrows -> (ours: Double, peer: Double) {
    try fastestTimings(minSeconds: minSeconds, minRuns: minRuns,
                       ours: { try timed(ours) }, peer: { try timed(peer) })
}

/// Like `fastestRuns`, for bodies that time themselves (a peer in another process, or a run
/// whose set-up is not to be counted): each returns its own seconds.
func fastestTimings(minSeconds: Double = 0.6, minRuns: Int = 3, warmUp: Bool = true,
                    ours: () throws -> Double, peer: () throws -> Double) rethrows -> (ours: Double, peer: Double) {
    if warmUp {
        _ = try ours()
        _ = try peer()
    }
    var best = (ours: Double.infinity, peer: Double.infinity)
    var total = 0.0
    var runs = 0
    while total < minSeconds || runs < minRuns {
        let a = try ours(), b = try peer()
        best = (min(best.ours, a), min(best.peer, b))
        total += a + b
        runs += 1
    }
    return best
}

/// Seconds `body` takes.
/// Runs a child process of a benchmark (with `environment` added to this one's) and decodes
/// the JSON it prints on stdout.
func childJSON<T: Decodable>(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                             what: String) throws -> T {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationErrorMessage("\(what) exited with status \(process.terminationStatus)")
    }
    return try JSONDecoder().decode(T.self, from: data)
}

func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
