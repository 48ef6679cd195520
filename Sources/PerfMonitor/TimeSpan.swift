/// A length of time written with a unit (`500ms`, `5s`, `10m`, `24h`, `7d`): how configuration
/// durations, retention and query windows are spelled everywhere in perfmond.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func seconds(_ seconds: Int64) -> TimeSpan { TimeSpan(milliseconds: seconds * 1000) }

    /// The windows the defaults and the degradation rule use.
    public static let fiveMinutes = TimeSpan.seconds(300)
    public static let oneHour = TimeSpan.seconds(3600)

    public var seconds: Double { Double(milliseconds) / 1000 }

    private static let units: [(suffix: String, milliseconds: Double)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// What `parse` accepts, for error messages.
    public static let syntax = "a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"

    /// Parses `text`; nil when it is not a non-negative number followed by one unit.
    public static func parse(_ text: String) -> TimeSpan? {
        let trimmed = text.trimmingSpaces
        // "ms" before "m" and "s": try the longest suffix first.
        for unit in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  let value = Double(number), value.isFinite else { return nil }
            let total = value * unit.milliseconds
            guard total <= Double(Int64.max / 2) else { return nil }
            return TimeSpan(milliseconds: Int64(total.rounded()))
        }
        return nil
    }

    /// The shortest exact spelling: `90000` ms → `90s`, `3600000` → `1h`, `0` → `0s`; days only
    /// from a week up (`24h` and `48h` read better than `1d` and `2d`).
    public var description: String {
        if milliseconds == 0 { return "0s" }
        for unit in Self.units.reversed() where milliseconds % Int64(unit.milliseconds) == 0 {
            if unit.suffix == "d", milliseconds < 7 * 86_400_000 { continue }
            return "\(milliseconds / Int64(unit.milliseconds))\(unit.suffix)"
        }
        return "\(milliseconds)ms"
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends (a token file ends with one).
    public var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first.isTrimmable { view.removeFirst() }
        while let last = view.last, last.isTrimmable { view.removeLast() }
        return String(view)
    }
}

extension Character {
    fileprivate var isTrimmable: Bool { self == " " || self == "\t" || self == "\n" || self == "\r" || self == "\r\n" }
}

extension TimeSpan {
    public var duration: Duration { .milliseconds(milliseconds) }
}

/// Swift's durations in the units the logs and tools print.
extension Duration {
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    public var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
