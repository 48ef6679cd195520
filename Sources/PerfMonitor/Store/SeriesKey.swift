/// What a series counts: its kind fixes what its two labels mean.
public enum SeriesKind: String, Sendable, CaseIterable {
    /// labels: provider, model
    case provider
    /// labels: endpoint, method
    case endpoint
    /// labels: component, operation
    case component
    /// labels: scope (component or provider), —
    case cache
    /// labels: metric name, label set (`MetricLabels.key`): an untyped custom metric
    case metric
    /// labels: metric name, label set: the custom metric kinds (api.md §7)
    case counter, gauge, histogram, set
    /// labels: from provider, to provider
    case failover
    /// labels: "global", — : errors reported with no provider, endpoint or component
    case errors
}

/// Identifies one series: a kind and its two label values ("" where the kind has one).
public struct SeriesKey: Hashable, Sendable, Comparable {
    public let kind: SeriesKind
    public let first: String
    public let second: String

    public init(_ kind: SeriesKind, _ first: String, _ second: String = "") {
        self.kind = kind
        self.first = first
        self.second = second
    }

    /// By kind name, then labels. The kind's name is compared only when the kinds differ: building
    /// it for every comparison was most of the time a query spent sorting its series.
    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        if lhs.kind != rhs.kind { return lhs.kind.rawValue < rhs.kind.rawValue }
        if lhs.first != rhs.first { return lhs.first < rhs.first }
        return lhs.second < rhs.second
    }
}

/// One series: totals since it was first seen (never decreasing, for Prometheus counters) and its
/// windowed history.
public struct Series: Sendable {
    public internal(set) var cumulative = Aggregate()
    /// The since-start values counted per classic `le` bound, for `/metrics`.
    public internal(set) var classic = ClassicHistograms()
    var windows: TimeBuckets
    public internal(set) var firstSeen: Double
    public internal(set) var lastSeen: Double

    init(layout: WindowLayout, now: Double) {
        windows = TimeBuckets(layout: layout)
        firstSeen = now
        lastSeen = now
    }
}
