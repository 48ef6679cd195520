import PerfJSON
import PerfMonitor

/// The statistics of an aggregate as the JSON answers name them. Rates are percentages;
/// a statistic without samples is 0 beside the count that says so.
extension Aggregate {
    var successRatePercent: Double { total > 0 ? self.successes / total * 100 : 0 }
    var errorRatePercent: Double { total > 0 ? self.failures / total * 100 : 0 }
    var cacheLookups: Double { self.cacheHits + self.cacheMisses }
    var cacheHitRatioPercent: Double { cacheLookups > 0 ? self.cacheHits / cacheLookups * 100 : 0 }

    /// Calls per second over `seconds` (at least one second, so a brand-new series is not inflated).
    func throughput(over seconds: Double) -> Double { total / Swift.max(1, seconds) }

    static func merged(_ views: [SeriesView]) -> Aggregate {
        var result = Aggregate()
        for view in views { result.merge(view.aggregate) }
        return result
    }

    /// Keyed counts with string keys in sorted order.
    static func counts<Key: Comparable & CustomStringConvertible>(_ counts: [Key: Double]) -> JSONValue {
        .object(counts.sorted { $0.key < $1.key }.map { ($0.key.description, .double($0.value)) })
    }
}

/// Duration statistics in milliseconds, with a prefix for the field names.
func durationFields(_ distribution: Distribution, average: String, prefix: String = "", suffix: String = "_duration_ms",
                    minMax: Bool = true) -> [(String, JSONValue)] {
    var fields: [(String, JSONValue)] = [
        (average, .double(distribution.mean)),
        ("\(prefix)p50\(suffix)", .double(distribution.quantile(0.50))),
        ("\(prefix)p95\(suffix)", .double(distribution.quantile(0.95))),
        ("\(prefix)p99\(suffix)", .double(distribution.quantile(0.99))),
        ("\(prefix)p999\(suffix)", .double(distribution.quantile(0.999))),  // p99.9 (seed 003)
    ]
    if minMax {
        fields += [("min\(suffix)", .double(distribution.min)), ("max\(suffix)", .double(distribution.max))]
    }
    return fields
}

/// The widest span among `views` (the time since the earliest first event, or the window).
func span(of views: [SeriesView]) -> Double { views.map(\.spanSeconds).max() ?? 0 }
