import ArgumentParser
import CastTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark cast against a peer measured in the same run.",
        discussion: "Benchmarks: engine (tensor engine vs raw OpenBLAS sgemm).")

    @Argument(help: "Which benchmark: engine.") var name: String
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let report: BenchReport
        switch name {
        case "engine": report = try EngineBenchmark.run()
        default: throw ValidationError("unknown benchmark '\(name)'; known: engine")
        }
        print(json ? try report.json() : report.table())
    }
}
