import CastTensor

/// What the student is asked to match.
public enum CastObjective: String, Codable, Sendable, CaseIterable {
    /// The paper's: the teacher's distribution, `KL(p_{source+LoRA} ‖ p_{target+CAST})`.
    case paper
    /// The adapter's own effect: the teacher distribution is the bare target's shifted by
    /// what the LoRA changes on the source, `softmax(z_target + z_{source+LoRA} − z_source)`,
    /// so the target is not also asked to imitate the source's base model.
    case delta
    /// The paper's KL, each position weighted by how much the LoRA changes the source's
    /// prediction there, `KL(p_{source+LoRA} ‖ p_source)` normalised to mean 1 (TiTok's
    /// contrastive excess, at the distribution level).
    case excess
}

/// The CAST loss at aligned positions: `α·T²·KL(teacher/T ‖ student/T) + β·MSE(H·h_student,
/// h_teacher)`. Logits of two different vocabularies are compared over their shared tokens
/// (both sides gathered to those columns, so each softmax renormalises over them).
public struct DistillationLoss: Sendable {
    public var alpha: Float
    public var beta: Float
    public var temperature: Float
    public var objective: CastObjective

    public init(alpha: Float = 1, beta: Float = 1, temperature: Float = 2, objective: CastObjective = .paper) {
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.objective = objective
    }

    /// One batch's inputs, every tensor at the same `n` aligned positions, in order.
    public struct Inputs {
        /// `[n, V_t]`: the student (target + CAST layers).
        public var studentLogits: Tensor
        /// `[n, V_s]`: the teacher (source + LoRA).
        public var teacherLogits: Tensor
        /// `[n, V_s]` the bare source (objectives delta and excess), `[n, V_t]` the bare
        /// target (delta).
        public var sourceLogits: Tensor?
        public var targetLogits: Tensor?
        /// Nil when both models share one vocabulary.
        public var shared: SharedVocabulary?
        /// The student's (and the bare target's) logits are already over the shared tokens,
        /// in `shared.target` order (so their gradient is too).
        public var studentShared = false
        /// `[n, d_t]` and `[n, d_s]` final hidden states, and the head `[d_s, d_t]`.
        public var studentHidden: Tensor
        public var teacherHidden: Tensor
        public var head: Tensor

        public init(studentLogits: Tensor, teacherLogits: Tensor, sourceLogits: Tensor? = nil, targetLogits: Tensor? = nil,
                    shared: SharedVocabulary? = nil, studentHidden: Tensor, teacherHidden: Tensor, head: Tensor) {
            self.studentLogits = studentLogits
            self.teacherLogits = teacherLogits
            self.sourceLogits = sourceLogits
            self.targetLogits = targetLogits
            self.shared = shared
            self.studentHidden = studentHidden
            self.teacherHidden = teacherHidden
            self.head = head
        }
    }

    public struct Result {
        public var loss: Float
        /// Mean KL at temperature T (without T²) and the hidden-state MSE.
        public var kl: Float
        public var mse: Float
        /// Gradients of `loss` (when asked for): `[n, V_t]`, `[n, d_t]`, `[d_s, d_t]`.
        public var dStudentLogits: Tensor?
        public var dStudentHidden: Tensor?
        public var dHead: Tensor?
    }

    public func validate() throws {
        func require(_ ok: Bool, _ what: String) throws { if !ok { throw AdapterError("CAST loss: \(what)") } }
        try require(alpha.isFinite && alpha >= 0, "α must be ≥ 0, got \(alpha)")
        try require(beta.isFinite && beta >= 0, "β must be ≥ 0, got \(beta)")
        try require(alpha > 0 || beta > 0, "α and β are both 0: nothing to learn from")
        try require(temperature.isFinite && temperature > 0, "temperature must be > 0, got \(temperature)")
    }

    /// The loss and, with `gradients`, its gradients to the student's logits and hidden
    /// states and to the head.
    public func evaluate(_ x: Inputs, gradients: Bool) throws -> Result {
        let studentIds = x.studentShared ? nil : x.shared?.target, sourceIds = x.shared?.source
        var result = Result(loss: 0, kl: 0, mse: 0)
        if gradients {
            result.dStudentLogits = Tensor(zeros: x.studentLogits.shape)
            result.dStudentHidden = Tensor(zeros: x.studentHidden.shape)
            result.dHead = Tensor(zeros: x.head.shape)
        }
        if alpha > 0 {
            let student = try Self.gather(x.studentLogits, studentIds)
            var teacher = try Self.gather(x.teacherLogits, sourceIds)
            var weights: [Float]? = nil
            switch objective {
            case .paper: break
            case .delta:
                guard let source = x.sourceLogits, let target = x.targetLogits else {
                    throw AdapterError("CAST loss: the delta objective needs the bare source's and target's logits")
                }
                teacher = try teacher + Self.gather(target, studentIds) - Self.gather(source, sourceIds)
            case .excess:
                guard let source = x.sourceLogits else {
                    throw AdapterError("CAST loss: the excess objective needs the bare source's logits")
                }
                weights = try Self.excessWeights(withLoRA: x.teacherLogits, without: source)
            }
            try check(student, "student logits")
            try check(teacher, "teacher logits")
            var statistics = Tensor()
            let term = try KLDivergence.forward(student: student, teacher: teacher, temperature: temperature,
                                                rowWeights: weights, statistics: &statistics)
            result.kl = term / (temperature * temperature)
            result.loss += alpha * term
            if gradients {
                var dGathered: Tensor? = Tensor(zeros: student.shape), noTeacher: Tensor? = nil
                try KLDivergence.backward(dLoss: alpha, student: student, teacher: teacher, temperature: temperature,
                                          rowWeights: weights, statistics: statistics,
                                          dStudent: &dGathered, dTeacher: &noTeacher)
                Self.scatterAdd(dGathered!, studentIds, into: &result.dStudentLogits!)
            }
        }
        if beta > 0 {
            let mapped = try Linear.forward(x.studentHidden, weight: x.head)
            try mapped.expectShape(x.teacherHidden.shape, "DistillationLoss", "H·h_student")
            result.mse = try MSE.forward(mapped, x.teacherHidden)
            result.loss += beta * result.mse
            if gradients {
                var dMapped: Tensor? = Tensor(zeros: mapped.shape), noTeacher: Tensor? = nil, noBias: Tensor? = nil
                try MSE.backward(dLoss: beta, mapped, x.teacherHidden, da: &dMapped, db: &noTeacher)
                try Linear.backward(dy: dMapped!, x: x.studentHidden, weight: x.head,
                                    dx: &result.dStudentHidden, dWeight: &result.dHead, dBias: &noBias)
            }
        }
        return result
    }

    /// Per-position weights `KL(p_{with LoRA} ‖ p_without)`, scaled to mean 1 (all 1 when
    /// the LoRA changes nothing).
    static func excessWeights(withLoRA: Tensor, without: Tensor) throws -> [Float] {
        var statistics = Tensor()
        _ = try KLDivergence.forward(student: without, teacher: withLoRA, statistics: &statistics)
        let rows = withLoRA.shape[0]
        let kl = (0..<rows).map { max(0, statistics.data[3 * $0 + 2]) }
        let mean = kl.reduce(0, +) / Float(max(rows, 1))
        guard mean > 0, mean.isFinite else { return Array(repeating: 1, count: rows) }
        return kl.map { $0 / mean }
    }

    private func check(_ t: Tensor, _ what: String) throws {
        let p = t.data
        for i in 0..<t.count where !p[i].isFinite {
            throw AdapterError("CAST loss: \(what) hold \(p[i]) at row \(i / max(t.shape.last ?? 1, 1))")
        }
    }

    /// Columns `ids` of every row (`x` itself when nil).
    static func gather(_ x: Tensor, _ ids: [Int32]?) throws -> Tensor {
        guard let ids else { return x }
        let rows = x.shape[0], width = x.shape[1], k = ids.count
        if let bad = ids.first(where: { Int($0) >= width || $0 < 0 }) {
            throw AdapterError("shared vocabulary id \(bad) is outside the logits' \(width) columns")
        }
        var out = Tensor(zeros: [rows, k])
        let src = x.data, dst = out.mutableData
        Parallel.forEach(rows, grain: 4) { range in
            for r in range {
                let s = src + r * width, d = dst + r * k
                for (c, id) in ids.enumerated() { d[c] = s[Int(id)] }
            }
        }
        return out
    }

    /// `into[:, ids] += g` (`into += g` when `ids` is nil).
    static func scatterAdd(_ g: Tensor, _ ids: [Int32]?, into: inout Tensor) {
        guard let ids else {
            let d = into.mutableData, s = g.data
            for i in 0..<g.count { d[i] += s[i] }
            return
        }
        let rows = g.shape[0], width = into.shape[1], k = ids.count
        let src = g.data, dst = into.mutableData
        Parallel.forEach(rows, grain: 4) { range in
            for r in range {
                let s = src + r * k, d = dst + r * width
                for (c, id) in ids.enumerated() { d[Int(id)] += s[c] }
            }
        }
    }
}
