import CastModels
import Dispatch
import CastTensor

/// The tap a capture puts on the forward pass: after each layer it copies the selected rows
/// of the wanted points out of the pass's buffers, into kept rows and/or running statistics.
final class ActivationRecorder: ForwardTap {
    private let byLayer: [Int: [ActivationPoint]]
    private let final: [ActivationPoint]
    private let keepRows: Bool
    private let statistics: Bool
    /// Rows of the current pass's batch to take, in order.
    var selected: [Int] = []
    /// Chooses `selected` at the start of each cached call (generation); nil selects none.
    var cachedCall: (([CachedSegment]) throws -> [Int])?
    /// With `deferred`, a pass's selected rows wait in `pending` until `commit(_:)` says
    /// which of them to keep: a generation learns only after sampling whether a row was
    /// its sequence's last.
    var deferred = false
    private var pending: [ActivationPoint: [Float]] = [:]
    private(set) var kept: [ActivationPoint: [Float]] = [:]
    private(set) var widths: [ActivationPoint: Int] = [:]
    private(set) var accumulators: [ActivationPoint: CovarianceAccumulator] = [:]
    private var gathered: [Float] = []
    /// Seconds spent in this tap (copying rows out, accumulating statistics): the capture's
    /// cost on top of the forward pass.
    private(set) var seconds = 0.0

    /// Hands over the rows kept so far and forgets them (a streaming capture, pass by pass).
    func takeKept() -> [ActivationPoint: [Float]] {
        defer { kept = [:] }
        return kept
    }

    init(points: [ActivationPoint], keepRows: Bool, statistics: Bool) {
        byLayer = Dictionary(grouping: points.filter { $0.layer != nil }, by: { $0.layer! })
        final = points.filter { $0.layer == nil }
        self.keepRows = keepRows
        self.statistics = statistics
    }

    func layerFinished(_ view: LayerTapView) throws {
        guard let points = byLayer[view.layer] else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        for point in points {
            guard let tensor = point.kind.tensor(in: view) else {
                throw AnalysisError("\(point.name): the pass computed no such activation")
            }
            try take(point, tensor, view.layout)
        }
    }

    func cachedCallStarting(_ segments: [CachedSegment]) throws {
        selected = try cachedCall?(segments) ?? []
    }

    /// Keeps rows `indices` (positions in the last pass's `selected`, in that order) of the
    /// deferred rows and drops the rest.
    func commit(_ indices: [Int]) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        defer { pending = [:] }
        guard !indices.isEmpty else { return }
        for (point, rows) in pending {
            let width = widths[point]!, n = indices.count
            if gathered.count < n * width { gathered = [Float](repeating: 0, count: n * width) }
            gathered.withUnsafeMutableBufferPointer { g in
                rows.withUnsafeBufferPointer { r in
                    for (k, i) in indices.enumerated() {
                        (g.baseAddress! + k * width).update(from: r.baseAddress! + i * width, count: width)
                    }
                }
                keep(point, g.baseAddress!, rows: n, width: width)
            }
        }
    }

    func finalNormFinished(_ normed: Tensor, layout: BatchLayout) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        for point in final { try take(point, normed, layout) }
    }

    private func take(_ point: ActivationPoint, _ tensor: Tensor, _ layout: BatchLayout) throws {
        let rows = layout.batch * layout.tokens
        guard rows > 0, tensor.count % rows == 0 else {
            throw AnalysisError("\(point.name): \(tensor.shape) does not split into \(rows) rows")
        }
        let width = tensor.count / rows
        if let known = widths[point], known != width {
            throw AnalysisError("\(point.name): width changed from \(known) to \(width)")
        }
        widths[point] = width
        let n = selected.count
        guard n > 0 else { return }
        if gathered.count < n * width { gathered = [Float](repeating: 0, count: n * width) }
        gathered.withUnsafeMutableBufferPointer { g in
            for (k, row) in selected.enumerated() {
                (g.baseAddress! + k * width).update(from: tensor.data + row * width, count: width)
            }
            if deferred {
                pending[point] = Array(UnsafeBufferPointer(start: g.baseAddress!, count: n * width))
            } else {
                keep(point, g.baseAddress!, rows: n, width: width)
            }
        }
    }

    private func keep(_ point: ActivationPoint, _ rows: UnsafePointer<Float>, rows n: Int, width: Int) {
        if keepRows { kept[point, default: []].append(contentsOf: UnsafeBufferPointer(start: rows, count: n * width)) }
        if statistics {
            accumulators[point, default: CovarianceAccumulator(width: width)].add(rows, rows: n)
        }
    }
}
