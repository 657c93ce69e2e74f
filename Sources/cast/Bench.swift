import ArgumentParser
import CastTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark against a peer measured in the same run.")

    @Argument(help: "Which benchmark: engine.") var name: String
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        throw ValidationError("unknown benchmark '\(name)'")
    }
}
