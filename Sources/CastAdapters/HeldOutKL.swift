import CastModels
import CastTensor

/// How far a student is from the teacher on text neither trained on: the mean
/// `KL(p_teacher ‖ p_student)` (temperature 1) over the aligned positions of the corpus's
/// held-out windows, over the shared tokens when the vocabularies differ.
public enum HeldOutKL {
    public static func measure(teacher: Transformer, teacherAdapters: AdapterSet, student: Transformer,
                               studentAdapters: AdapterSet, corpus: PairedCorpus, windows: Int = 32,
                               shouldStop: () -> Bool = { false }) throws -> Double? {
        let shared = try CastTrainer.sharedVocabulary(teacher, student, corpus)
        let head = try shared.map { try SharedHead(student, ids: $0.target) }
        let all = corpus.heldOut(windows)
        guard !all.isEmpty else { throw AdapterError("corpus \(corpus.name): no held-out windows") }
        var teacherPass = ForwardPass(), studentPass = ForwardPass()
        var total = 0.0, count = 0
        for start in stride(from: 0, to: all.count, by: 4) {
            if shouldStop() { return nil }
            let ws = Array(all[start..<min(start + 4, all.count)])
            let rows = CastTrainer.alignedRows(ws)
            guard !rows.teacher.isEmpty else { continue }
            try teacher.forward(ws.map(\.teacher), options: ForwardOptions(adapters: teacherAdapters, logitRows: rows.teacher),
                                pass: &teacherPass)
            try student.forward(ws.map(\.student), options: ForwardOptions(adapters: studentAdapters, logits: head == nil,
                                                                            logitRows: rows.student),
                                pass: &studentPass)
            let t = try DistillationLoss.gather(teacherPass.logits, shared?.source)
            let s = try head.map { try $0.forward(CastTrainer.rows(studentPass.hidden, rows.student)) } ?? studentPass.logits
            total += Double(try KLDivergence.forward(student: s, teacher: t)) * Double(rows.teacher.count)
            count += rows.teacher.count
        }
        return count > 0 ? total / Double(count) : 0
    }
}
