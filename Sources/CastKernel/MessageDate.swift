import Foundation

/// Reads the `date` of a message header: ISO 8601 as Jupyter writes it
/// ("2026-12-07T08:33:59.662116Z", or with "+01:00"), to the microsecond.
enum MessageDate {
    static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var fraction = 0.0, i = 19
        if i < scalars.count, scalars[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < scalars.count, scalars[i] >= 48 && scalars[i] <= 57 {
                fraction += Double(scalars[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offset = 0
        if i < scalars.count, scalars[i] == UInt8(ascii: "+") || scalars[i] == UInt8(ascii: "-") {
            guard let h = number((i + 1)..<(i + 3)), let m = number((i + 4)..<(i + 6)) else { return nil }
            offset = (h * 3600 + m * 60) * (scalars[i] == UInt8(ascii: "-") ? -1 : 1)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }
}
