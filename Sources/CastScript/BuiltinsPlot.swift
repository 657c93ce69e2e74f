import CastPlot

/// `plot`: pictures from lists, matrices and training runs. (Saving one is `save`'s job.)
enum PlotBuiltins {
    static var all: [Builtin] { [plot] }

    static let plotType = ParameterType.object(PlotValue.self)
    static let numbersType = ParameterType("list or range") { value in
        switch value {
        case .list, .range: true
        default: false
        }
    }
    static let dataType = ParameterType("list, range, lora or cast") { value in
        switch value {
        case .list, .range: true
        case .object(let o): o is LoRAValue || o is CastValue || o is PCAValue || o is PairedPCAValue || o is CKAValue
        default: false
        }
    }
    static let kinds = ["line", "scatter", "bar", "heatmap"]
    /// More points than any screen shows; past it a list is surely a mistake.
    static let maximumPoints = 2_000_000

    static var plot: Builtin {
        Builtin("plot", [
            Parameter("data", dataType, help: "y values (a list or range), x values when y is given, a list of lists (several lines, or a heatmap's rows), "
                + "a list of [x, y] pairs (scatter), a LoRA or CAST adapter (its loss per step; a CAST adapter's kl and mse too), "
                + "a pca (explained variance; kind: \"scatter\" PC1 vs PC2), a pca_pair (both models on PC1/PC2) or a cka (heatmap)."),
            Parameter("y", .optional(numbersType), default: Value.none, help: "y values, when data holds the x values."),
            Parameter("kind", .optional(.string), default: Value.none,
                      help: "line, scatter, bar or heatmap; none: scatter for three or more [x, y] pairs, heatmap for other lists of lists, else line."),
            Parameter("title", .string, default: .string(""), help: "The title."),
            Parameter("xlabel", .string, default: .string(""), help: "The x axis label."),
            Parameter("ylabel", .string, default: .string(""), help: "The y axis label."),
            Parameter("labels", .optional(.list(of: .any, named: "list")), default: Value.none,
                      help: "Names: one category per point (scatter, coloured with a legend), one per bar, one per line, or the heatmap's rows."),
            Parameter("columns", .optional(.list(of: .any, named: "list")), default: Value.none,
                      help: "A heatmap's column labels; none: the row labels when the matrix is square, else 0, 1, …"),
            Parameter("log_y", .bool, default: .bool(false), help: "A logarithmic y axis (line plots; values ≤ 0 are left out)."),
            Parameter("cumulative", .bool, default: .bool(false), help: "Bars: also draw the running total (explained variance)."),
            Parameter("values", .optional(.bool), default: Value.none, help: "Heatmap: print each value in its cell; none: when they fit."),
        ], returns: "plot",
        help: "Draws a picture: a line plot, scatter plot, bar chart or heatmap, with title, axis labels, ticks and a legend "
            + "or colour scale. A terminal shows it as text graphics (braille and block characters), a notebook as SVG; "
            + "save(p, \"file.svg\") writes the SVG. plot(run) draws a LoRA's or CAST adapter's training curves; nan and "
            + "inf values are left out with a note.",
        example: "plot([3.1, 2.4, 1.9, 1.7], title: \"loss\", xlabel: \"step\")\n"
            + "plot([1, 2, 3, 4], [2, 1, 4, 3], kind: \"scatter\", labels: [\"a\", \"a\", \"b\", \"b\"])\n"
            + "plot([[1, 0.8], [0.8, 1]], labels: [\"src\", \"tgt\"], title: \"CKA\")\n"
            + "p = plot(c, log_y: true)\nsave(p, \"out/cast-loss.svg\")") { call in
            var figure = try PlotFigures.figure(call)
            if !call.string("title").isEmpty { figure.title = call.string("title") }
            if !call.string("xlabel").isEmpty { figure.xLabel = call.string("xlabel") }
            if !call.string("ylabel").isEmpty { figure.yLabel = call.string("ylabel") }
            do {
                return .object(try PlotValue(figure: figure))
            } catch let error as PlotError {
                throw call.error("data", error.message)
            }
        }
    }
}
