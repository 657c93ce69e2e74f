import Foundation
import Testing
@testable import CastPlot

@Suite("Ticks and number formatting")
struct TicksAndFormattingTests {
    static let ranges: [ClosedRange<Double>] = [
        0...1, 0...299, -3.7...12.2, 0.0012...0.0049, 1e6...7.3e6, -1e-7...1e-7, 5...5, 0...0, -2...(-1), 0.1...0.30000000000000004,
        1.5e-5...2.2e-5, 99.5...100.5,
    ]

    @Test("ticks are 1, 2 or 5 times a power of ten apart, cover the range and are few")
    func niceSteps() {
        for range in Self.ranges {
            let ticks = NiceTicks(covering: range)
            let power = pow(10, floor(log10(ticks.step)))
            let mantissa = (ticks.step / power * 1000).rounded() / 1000
            #expect([1, 2, 5, 10].contains(mantissa), "\(range): step \(ticks.step)")
            #expect(ticks.values.first! <= range.lowerBound && ticks.values.last! >= range.upperBound, "\(range)")
            #expect((2...12).contains(ticks.values.count), "\(range): \(ticks.values)")
            for (a, b) in zip(ticks.values, ticks.values.dropFirst()) { #expect(abs(b - a - ticks.step) < ticks.step * 1e-6) }
            #expect(Set(ticks.labels).count == ticks.labels.count, "\(range): \(ticks.labels)")
        }
    }

    @Test("tick labels are short and exact")
    func labels() {
        #expect(NiceTicks(covering: 0...1).labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(NiceTicks(covering: 0.1...0.30000000000000004).labels.allSatisfy { $0.count <= 4 })
        #expect(NiceTicks(covering: 0...299).labels == ["0", "50", "100", "150", "200", "250", "300"])
        #expect(NiceTicks(covering: 1e6...7.3e6).labels.first == "1e6")
        #expect(NiceTicks(covering: 1e6...7.3e6).labels.last == "8e6")
        #expect(NiceTicks(covering: -1e-7...1e-7).labels.contains("0"))
    }

    @Test("log ticks are powers of ten (with 2 and 5 in short ranges) covering the range")
    func logTicks() {
        let wide = NiceTicks.logarithmic(covering: 0.003...4500)
        #expect(wide.values == [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000, 1e4])
        let short = NiceTicks.logarithmic(covering: 0.3...4)
        #expect(short.values.first! <= 0.3 && short.values.last! >= 4)
        #expect(short.values.count <= 6)
    }

    @Test("compact numbers have three significant digits")
    func compact() {
        #expect(NumberFormatting.compact(0.123456) == "0.123")
        #expect(NumberFormatting.compact(12.345) == "12.3")
        #expect(NumberFormatting.compact(1) == "1")
        #expect(NumberFormatting.compact(-0.5) == "-0.5")
        #expect(NumberFormatting.compact(123456) == "1.23e5")
        #expect(NumberFormatting.compact(0.00001234) == "1.23e-5")
        #expect(NumberFormatting.compact(.nan) == "nan")
        #expect(NumberFormatting.tick(-0.0, step: 0.1) == "0.0")
    }
}
