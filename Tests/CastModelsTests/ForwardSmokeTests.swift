import Foundation
import Testing
import CastTensor
@testable import CastModels

@Suite struct ForwardSmokeTests {
    @Test func smollmPredictsParis() throws {
        let start = Date()
        let model = try Transformer.loadGGUF(path: CastHome.models.appendingPathComponent("smollm2-135m.gguf").path)
        print("load", Date().timeIntervalSince(start))
        let t0 = Date()
        let logits = try model.logits([[504, 3575, 282, 4649, 314]])
        print("forward", Date().timeIntervalSince(t0))
        let last = try logits.reshaped([5, -1]).row(4)
        let top = try last.argmaxAlongLastAxis()
        print("top", top, last.scalars[7042], last.scalars.max()!)
        #expect(top == [7042])
    }
}
