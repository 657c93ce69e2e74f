import CastPlot

/// Turns `plot`'s arguments into a figure: reads the numbers out of lists, ranges and
/// training runs, picks the kind, and checks what the figure cannot check itself, so
/// every error points at the argument at fault.
enum PlotFigures {
    static func figure(_ call: Call) throws -> Figure {
        if let figure = try AnalysisBuiltins.figure(call) { return figure }
        if let run = trainingRun(call.value("data")) {
            return try runFigure(call, name: run.name, series: run.series)
        }
        let kind = try chosenKind(call)
        let data = call.value("data")
        switch kind {
        case "heatmap":
            guard case .none = call.value("y") else { throw call.error("y", "a heatmap takes one matrix (a list of rows), not x and y") }
            let rows = try matrix(call, "data")
            let rowLabels = try labels(call, "labels", count: rows.count, what: "rows")
            let columnCount = rows.first?.count ?? 0
            var columnLabels = try labels(call, "columns", count: columnCount, what: "columns")
            if columnLabels == nil, rows.count == columnCount { columnLabels = rowLabels }
            return Figure(chart: .heatmap(Heatmap(values: rows, rowLabels: rowLabels, columnLabels: columnLabels,
                                                  showValues: call.value("values") == .none ? nil : call.bool("values"))))
        case "scatter":
            let (x, y) = try pairs(call)
            let categories = try labels(call, "labels", count: x.count, what: "points")
            return Figure(chart: .scatter(ScatterChart(x: x, y: y, categories: categories)))
        case "bar":
            guard case .none = call.value("y") else { throw call.error("y", "a bar chart takes one list of values (labels: names them)") }
            let values = try numbers(call, "data", data)
            let names = try labels(call, "labels", count: values.count, what: "bars")
            return Figure(chart: .bar(BarChart(labels: names, values: values, cumulative: call.bool("cumulative"))))
        default:
            return Figure(chart: .line(LineChart(series: try lineSeries(call), logY: call.bool("log_y"))))
        }
    }

    /// The kind asked for, else the one the data's shape suggests.
    static func chosenKind(_ call: Call) throws -> String {
        if let kind = call.optionalString("kind") {
            guard PlotBuiltins.kinds.contains(kind) else {
                throw call.error("kind", "'kind' must be one of \(PlotBuiltins.kinds.map { Value.quote($0) }.joined(separator: ", ")), "
                                 + "got \(Value.quote(kind))" + Suggestions.hint(for: kind, among: PlotBuiltins.kinds))
            }
            return kind
        }
        guard case .list(let items) = call.value("data"), case .none = call.value("y"), case .list(let first)? = items.first else {
            return "line"
        }
        return first.count == 2 && items.allSatisfy { $0.length == 2 } && items.count != 2 ? "scatter" : "heatmap"
    }

    // MARK: training runs

    /// The loss curves of a LoRA or CAST adapter, or nil for other values.
    static func trainingRun(_ value: Value) -> (name: String, series: [(String, [Double])])? {
        switch value {
        case .object(let l as LoRAValue):
            return ("lora r\(l.adapter.config.rank) for \(l.model.transformer.name)", [("loss", l.history.loss)])
        case .object(let c as CastValue):
            return ("cast \(c.source.transformer.name) → \(c.target.transformer.name)",
                    [("loss", c.history.loss), ("kl", c.history.kl), ("mse", c.history.mse)])
        default:
            return nil
        }
    }

    static func runFigure(_ call: Call, name: String, series: [(String, [Double])]) throws -> Figure {
        guard case .none = call.value("y") else { throw call.error("y", "plot of a training run takes no y values") }
        if let kind = call.optionalString("kind"), kind != "line" {
            throw call.error("kind", "a training run plots as a line plot, not \(Value.quote(kind))")
        }
        guard let steps = series.first?.1.count, steps > 0 else {
            throw call.error("data", "this adapter has no training steps yet: train or step it first")
        }
        let names = try labels(call, "labels", count: series.count, what: "curves")
        let metrics = series.enumerated().map { i, s in (name: names?[i] ?? s.0, values: s.1) }
        return TrainingCurves.figure(title: name, metrics: metrics, logY: call.bool("log_y"))
    }

    // MARK: lists

    /// The numbers of a list or range; an error naming the first element that is not one.
    static func numbers(_ call: Call, _ parameter: String, _ value: Value) throws -> [Double] {
        switch value {
        case .range(let r):
            guard r.count <= PlotBuiltins.maximumPoints else { throw tooMany(call, parameter, r.count) }
            return r.elements.map(Double.init)
        case .list(let items):
            guard items.count <= PlotBuiltins.maximumPoints else { throw tooMany(call, parameter, items.count) }
            return try items.enumerated().map { i, item in
                guard case .number(let x) = item else {
                    throw call.error(parameter, "'\(parameter)' must hold numbers, but element \(i) is \(item.typeWithArticle)", kind: .type)
                }
                return x
            }
        default:
            throw call.error(parameter, "'\(parameter)' must be a list of numbers, got \(value.typeWithArticle)", kind: .type)
        }
    }

    static func tooMany(_ call: Call, _ parameter: String, _ count: Int) -> ScriptError {
        call.error(parameter, "'\(parameter)' has \(count) values; plot draws at most \(PlotBuiltins.maximumPoints)")
    }

    /// A list of equal-length rows of numbers.
    static func matrix(_ call: Call, _ parameter: String) throws -> [[Double]] {
        guard case .list(let rows) = call.value(parameter), !rows.isEmpty else {
            throw call.error(parameter, "a heatmap needs a list of rows, each a list of numbers")
        }
        var total = 0
        return try rows.enumerated().map { r, row in
            guard case .list = row else {
                throw call.error(parameter, "a heatmap needs a list of rows, but row \(r) is \(row.typeWithArticle)", kind: .type)
            }
            let values = try numbers(call, parameter, row)
            total += values.count
            guard total <= PlotBuiltins.maximumPoints else { throw tooMany(call, parameter, total) }
            guard values.count == rows[0].length else {
                throw call.error(parameter, "heatmap rows must be equally long: row 0 has \(rows[0].length ?? 0) values, row \(r) has \(values.count)")
            }
            return values
        }
    }

    /// x and y for a scatter: `data` and `y`, or `data` as [x, y] pairs.
    static func pairs(_ call: Call) throws -> ([Double], [Double]) {
        if case .none = call.value("y") {
            guard case .list(let items) = call.value("data") else {
                throw call.error("data", "a scatter needs x and y (plot(xs, ys, kind: \"scatter\")) or a list of [x, y] pairs")
            }
            var x: [Double] = [], y: [Double] = []
            for (i, item) in items.enumerated() {
                guard case .list(let pair) = item, pair.count == 2, case .number(let a) = pair[0], case .number(let b) = pair[1] else {
                    throw call.error("data", "a scatter without y needs [x, y] pairs, but element \(i) is \(item.written(limit: 30))", kind: .type)
                }
                x.append(a)
                y.append(b)
            }
            return (x, y)
        }
        let x = try numbers(call, "data", call.value("data")), y = try numbers(call, "y", call.value("y"))
        guard x.count == y.count else { throw call.error("y", "x has \(x.count) values but y has \(y.count)") }
        return (x, y)
    }

    /// Line series: one from y (against 0, 1, … or x), or one per row of a list of lists.
    static func lineSeries(_ call: Call) throws -> [LineSeries] {
        let data = call.value("data")
        if case .none = call.value("y") {
            if case .list(let rows) = data, case .list? = rows.first {
                let names = try labels(call, "labels", count: rows.count, what: "lines")
                return try rows.enumerated().map { i, row in
                    LineSeries(name: names?[i] ?? "line \(i + 1)", y: try numbers(call, "data", row))
                }
            }
            let names = try labels(call, "labels", count: 1, what: "lines")
            return [LineSeries(name: names?[0] ?? "", y: try numbers(call, "data", data))]
        }
        let x = try numbers(call, "data", data), y = try numbers(call, "y", call.value("y"))
        guard x.count == y.count else { throw call.error("y", "x has \(x.count) values but y has \(y.count)") }
        let names = try labels(call, "labels", count: 1, what: "lines")
        return [LineSeries(name: names?[0] ?? "", x: x, y: y)]
    }

    /// Labels as strings (numbers and other values as written), checked to be `count`
    /// long; nil when not given.
    static func labels(_ call: Call, _ parameter: String, count: Int, what: String) throws -> [String]? {
        guard case .list(let items) = call.value(parameter) else { return nil }
        guard items.count == count else {
            throw call.error(parameter, "'\(parameter)' has \(items.count) names but there \(count == 1 ? "is" : "are") \(count) \(what)")
        }
        return items.map { $0.printed(limit: 200) }
    }
}
