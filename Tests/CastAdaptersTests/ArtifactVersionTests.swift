import CastAdapters
import CastModels
import Foundation
import Testing

/// Cached experiment artifacts are keyed by `ArtifactCache.codeVersion`, not by the build, so
/// that a rebuilt cast reuses hours of training. These pinned losses of short runs (CAST with
/// every objective on tiny models, a LoRA on smollm2-135m) move when a change alters what
/// training produces: then bump `ArtifactCache.codeVersion` and record the new figures here.
/// The tolerance admits the last-bit differences between BLAS kernels and CPUs, nothing more.
@Suite("Artifact version: short runs' losses pinned beside ArtifactCache.codeVersion")
struct ArtifactVersionTests {
    static let version = "artifacts-2"
    static let tolerance = 1e-4

    static func expectPinned(_ losses: [Double], _ pinned: [Double], _ what: String) {
        #expect(ArtifactCache.codeVersion == version)
        #expect(losses.count == pinned.count, "\(what): \(losses)")
        for (i, (got, want)) in zip(losses, pinned).enumerated() {
            #expect(abs(got - want) <= tolerance * max(abs(want), 1e-3),
                    """
                    \(what) step \(i + 1): loss \(got), pinned \(want). Training now produces other results: \
                    bump ArtifactCache.codeVersion (cached experiment results are stale) and pin \(losses) here.
                    """)
        }
    }

    static let castPinned: [CastObjective: [Double]] = [
        .paper: [3.9418554306030273, 3.916738986968994, 3.772386312484741, 3.5490994453430176],
        .delta: [2.859753370285034, 2.941635847091675, 2.311229705810547, 2.666147232055664],
        .excess: [3.970627546310425, 3.9212560653686523, 3.7914366722106934, 3.4694228172302246],
    ]

    @Test(arguments: CastObjective.allCases)
    func castLosses(_ objective: CastObjective) throws {
        let trainer = try CastTransferTests.trainer(steps: 4, objective: objective)
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        print("ArtifactVersionTests CAST \(objective): \(losses)")
        Self.expectPinned(losses, Self.castPinned[objective] ?? [], "CAST (\(objective))")
    }

    static let loraPinned: [Double] = [2.342279076576233, 2.4024195671081543, 2.1278128623962402]

    @Test func loraLosses() throws {
        let trainer = try TrainingTests.trainer(steps: 3)
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        print("ArtifactVersionTests LoRA: \(losses)")
        Self.expectPinned(losses, Self.loraPinned, "LoRA")
    }
}
