import PerfJSON

/// How `/metrics` names and buckets its families. The bucket boundaries are part of the public
/// surface: Prometheus sums histograms across instances only when every instance uses the same
/// ones, so changing them is a breaking change (say so in the release notes).
public struct MetricsConfiguration: Sendable, Equatable {
    public var prefix = "perfmond"
    /// LLM calls: tens of milliseconds to minutes, in seconds.
    public var providerDurationBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
    /// Time to first token, in seconds.
    public var ttftBuckets: [Double] = [0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30]
    /// Gateway endpoints (they wrap LLM calls), in seconds.
    public var endpointDurationBuckets: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]
    /// Code components (parsing, routing, caching): sub-millisecond to seconds.
    public var componentDurationBuckets: [Double] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
    /// Put before every custom metric's family name ("" by default: the names as sent).
    public var customPrefix = ""
    /// Custom histograms of a time unit, in seconds.
    public var customSecondsBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Custom histograms of any other unit, in that unit (Prometheus's default buckets).
    public var customBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init() {}

    /// Bucket lists as written in the configuration: ascending seconds separated by commas.
    public static func parseBuckets(_ text: String) -> [Double]? {
        let values = text.split(separator: ",").map { Double($0.filter { $0 != " " }) }
        guard !values.isEmpty, values.count <= 50, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! > 0 }) else { return nil }
        let bounds = values.map { $0! }
        return zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 } ? bounds : nil
    }

    public static func formatBuckets(_ bounds: [Double]) -> String {
        bounds.map(JSONNumber.format).joined(separator: ", ")
    }

    /// A valid metric name prefix (Prometheus metric name characters, no leading digit).
    public static func isPrefix(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(48...57).contains(first) else { return false }
        return text.utf8.allSatisfy { $0 == 95 || $0 == 58 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }
}
