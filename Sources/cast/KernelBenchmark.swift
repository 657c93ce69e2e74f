import Foundation

/// `cast bench kernel`: how quickly the Jupyter kernel answers, beside ipykernel measured in
/// the same run with the same client.
///
/// `scripts/bench_kernel_client.py` (run with `.venv-jupyter`'s python) starts `cast kernel`
/// and ipykernel, warms both up, then alternates rounds between them, timing with one
/// jupyter_client `BlockingKernelClient` per kernel:
/// - an execute_request of a trivial cell (`1 + 1`) to its execute_reply, and to the IOPub
///   `idle` that ends it (when a front end has every output);
/// - a complete_request (`pri`, cursor at the end) to its complete_reply.
/// Median and p99 over 500 of each. Target: median ≤ 0.5 × ipykernel's.
enum KernelBenchmark {
    static let requests = 500

    struct Stats: Decodable {
        let median: Double, p99: Double, mean: Double, min: Double, count: Int
    }

    struct ClientReport: Decodable {
        let n: Int
        let kernels: [String: [String: Stats]]
        let versions: [String: String]
    }

    static func run() throws -> BenchReport {
        let python = try ModelBenchmark.venvPython(variable: "CAST_JUPYTER_VENV", folder: ".venv-jupyter",
                                                   needs: "cast bench kernel needs jupyter_client and ipykernel",
                                                   create: "`scripts/jupyter-venv.sh`")
        let script = try ModelBenchmark.locate("scripts/bench_kernel_client.py")
        let cast = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let client: ClientReport = try childJSON(python, [script.path, "--cast", cast, "-n", "\(requests)"],
                                                 what: script.path)
        guard let ours = client.kernels["cast"], let peer = client.kernels["ipykernel"] else {
            throw BenchmarkError("\(script.lastPathComponent) reported no figures for cast or ipykernel")
        }
        var report = BenchReport()
        report.env["ipykernel"] = client.versions["ipykernel"] ?? "?"
        report.env["jupyter_client"] = client.versions["jupyter_client"] ?? "?"
        report.env["libzmq"] = client.versions["libzmq"] ?? "?"
        let peerName = "ipykernel \(client.versions["ipykernel"] ?? "")"
        let rows: [(key: String, what: String)] = [
            ("execute_reply", "execute_request `1 + 1` → execute_reply"),
            ("execute_idle", "execute_request `1 + 1` → IOPub idle"),
            ("complete_reply", "complete_request `pri` → complete_reply"),
        ]
        for (key, what) in rows {
            guard let a = ours[key], let b = peer[key] else { continue }
            report.rows.append(BenchRow(name: "\(what), median of \(a.count)", value: a.median * 1e3,
                                        unit: "ms, lower is better", peer: peerName, peerValue: b.median * 1e3))
            report.rows.append(BenchRow(name: "\(what), p99 of \(a.count)", value: a.p99 * 1e3,
                                        unit: "ms, lower is better", peer: peerName, peerValue: b.p99 * 1e3))
        }
        return report
    }
}
