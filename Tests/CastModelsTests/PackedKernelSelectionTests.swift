import CastTestSupport
import CastTensor
import Foundation
import Testing

/// `CAST_KERNELS` and `CAST_PORTABLE_KERNELS` through the built `cast` (the environment is
/// read once per process, so each case is its own process): `cast quickstart` names the path
/// that runs, a bad value is a warning naming the valid ones, and `--arithmetic int8` on the
/// portable path says it has no fast kernel.
@Suite(.serialized) struct PackedKernelSelectionTests {
    static func quickstart(_ environment: [String: String], _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        var overrides: [String: String?] = ["CAST_KERNELS": nil, "CAST_PORTABLE_KERNELS": nil]
        for (name, value) in environment { overrides[name] = value }
        return try TestSupport.runCast(["quickstart", "--max-tokens", "1"] + extra, environment: overrides)
    }

    /// The "  kernel  …" line of quickstart's summary.
    static func kernelLine(_ stdout: String) -> String {
        stdout.split(separator: "\n").first { $0.hasPrefix("  kernel ") }.map(String.init) ?? "(no kernel line)"
    }

    @Test func forcedPathsAreNamed() throws {
        _ = try TestModels.url("smollm2-135m")
        for wanted in PackedKernel.allCases where wanted <= PackedKernel.supported {
            let run = try Self.quickstart(["CAST_KERNELS": wanted.rawValue])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.isEmpty, "\(wanted): \(run.stderr)")
            let line = Self.kernelLine(run.stdout)
            #expect(line.contains("\(wanted.float32Path.rawValue) (\(wanted.float32Path.displayName)); int8 \(wanted.int8Path.rawValue)"),
                    "\(wanted): \(line)")
            // Packed weights wherever a vector path runs; float32 (OpenBLAS) on the portable one.
            #expect(run.stdout.contains(wanted == .portable ? "weights float32" : "weights packed"), "\(wanted)")
        }
        let legacy = try Self.quickstart(["CAST_PORTABLE_KERNELS": "1"])
        #expect(Self.kernelLine(legacy.stdout).contains("portable (portable C); int8 portable"))
    }

    @Test func badValuesWarnAndRunTheBestPath() throws {
        let run = try Self.quickstart(["CAST_KERNELS": "sse9"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("CAST_KERNELS=sse9 is not one of avx512vnni, avx512, avx2, portable"), "\(run.stderr)")
        #expect(Self.kernelLine(run.stdout).contains(PackedKernel.supported.float32Path.rawValue))
        if PackedKernel.supported < .avx512vnni {
            let unsupported = try Self.quickstart(["CAST_KERNELS": "avx512vnni"])
            #expect(unsupported.stderr.contains("this CPU does not support it"), "\(unsupported.stderr)")
        }
    }

    @Test func int8OnThePortablePathSaysSo() throws {
        let run = try Self.quickstart(["CAST_KERNELS": "portable"], ["--weights", "packed", "--arithmetic", "int8"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("--arithmetic int8 has no fast kernel here"), "\(run.stderr)")
        if PackedKernel.supported >= .avx2 {
            let fast = try Self.quickstart([:], ["--arithmetic", "int8"])
            #expect(!fast.stderr.contains("no fast kernel"), "\(fast.stderr)")
        }
    }
}
