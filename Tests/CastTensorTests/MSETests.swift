import Testing
@testable import CastTensor

@Suite struct MSETests {
    @Test func forwardMatchesDoubleLoop() throws {
        let a = Tensor.randomNormal([3, 1001], seed: 1), b = Tensor.randomNormal([3, 1001], seed: 2)
        var ref = 0.0
        for i in 0..<a.count { ref += (Double(a.data[i]) - Double(b.data[i])) * (Double(a.data[i]) - Double(b.data[i])) }
        let loss = try MSE.forward(a, b)
        #expect(abs(Double(loss) - ref / Double(a.count)) < 1e-5)
        #expect(try MSE.forward(a, b) == loss)
    }

    /// Bound: relative error ≤ 1e-3 (quadratic: central differences are exact up to rounding).
    @Test func gradientCheck() throws {
        let inputs = [Tensor.randomNormal([3, 5], seed: 3), Tensor.randomNormal([3, 5], seed: 4)]
        let result = try GradCheck.check(inputs: inputs, forward: { xs in
            Tensor([try MSE.forward(xs[0], xs[1])])
        }, backward: { dOut, xs in
            var da: Tensor? = Tensor(zeros: [3, 5]), db: Tensor? = Tensor(zeros: [3, 5])
            try MSE.backward(dLoss: dOut.item, xs[0], xs[1], da: &da, db: &db)
            return [da!, db!]
        })
        #expect(result.maxError < 1e-3, "\(result.worst)")
    }

    @Test func mismatchedShapesThrowNamingBoth() {
        #expect { _ = try MSE.forward(Tensor(zeros: [2, 3]), Tensor(zeros: [3, 2])) }
            throws: { "\($0)".contains("[2, 3]") && "\($0)".contains("[3, 2]") }
        var da: Tensor? = Tensor(zeros: [6]), none: Tensor? = nil
        #expect { try MSE.backward(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3]), da: &da, db: &none) }
            throws: { "\($0)".contains("[6]") && "\($0)".contains("[2, 3]") }
    }
}
