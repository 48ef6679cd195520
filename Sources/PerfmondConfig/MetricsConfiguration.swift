import PerfJSON

/// How `/metrics` names its families (their classic bucket bounds are the store's
/// `ClassicBounds`: it counts values against them as they arrive).
public struct MetricsConfiguration: Sendable, Equatable {
    public var prefix = "perfmond"
    /// Put before every custom metric's family name ("" by default: the names as sent).
    public var customPrefix = ""

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
