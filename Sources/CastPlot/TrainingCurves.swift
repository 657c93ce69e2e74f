/// Training curves as the trainers report them: named values per step (loss, kl, mse),
/// drawn against step numbers 1, 2, …. The language's `plot(run)` and any command that
/// saves a run's curves make their figure here, so they look alike.
public enum TrainingCurves {
    /// A line figure with one series per named metric; empty metrics are left out.
    public static func figure(title: String, metrics: [(name: String, values: [Double])], logY: Bool = false) -> Figure {
        let series = metrics.filter { !$0.values.isEmpty }.map { metric in
            LineSeries(name: metric.name, x: (1...metric.values.count).map(Double.init), y: metric.values)
        }
        return Figure(title: title, xLabel: "step", yLabel: "loss", chart: .line(LineChart(series: series, logY: logY)))
    }
}
