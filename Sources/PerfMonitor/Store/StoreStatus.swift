/// What the store holds and what it refused or gave up on, for `/performance/memory` and `/metrics`.
public struct StoreStatus: Sendable {
    public var seriesByKind: [SeriesKind: Int] = [:]
    public var rawEvents = 0
    public var bytesEstimate = 0
    /// Events whose label value was folded into `__other__`, by dimension.
    public var foldedByDimension: [String: Double] = [:]
    public var openRequests = 0
    public var openProviderCalls = 0
    public var abandonedRequests = 0
    public var abandonedProviderCalls = 0
    /// Starts refused because `maxOpenRequests` were already waiting for their end.
    public var droppedStarts = 0
    /// `request_end` events with neither a known start nor an endpoint: counted, not aggregated.
    public var unmatchedEnds = 0
    /// Custom metric events dropped at apply: their name took another kind (or the name limit
    /// filled) in a concurrent request after this one was checked.
    public var droppedMetricEvents = 0
    /// Custom metric events whose label set folded into `{__other__="true"}`, by metric name.
    public var foldedByMetric: [String: Double] = [:]
    /// StatsD values among those folded (`perfmond_statsd_lines_total{outcome="folded"}`).
    public var foldedStatsDValues = 0
    /// Series removed after a retention without events.
    public var removedSeries = 0
    public var appliedByType: [EventType: Int] = [:]

    public init() {}

    public var seriesCount: Int { seriesByKind.values.reduce(0, +) }
}
