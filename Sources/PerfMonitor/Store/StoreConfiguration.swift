/// The store's limits and intervals (each one a configuration key; defaults are the documented ones).
public struct StoreConfiguration: Sendable, Equatable {
    public var collectionInterval = TimeSpan.seconds(5)
    public var retention = TimeSpan.seconds(86_400)
    /// A `request_start` or `provider_start` without its end is abandoned after this.
    public var requestTimeout = TimeSpan.seconds(600)
    /// Raw events kept for `/performance/events`.
    public var recentEventsCapacity = 10_000
    /// Starts awaiting their end, at most; more are dropped and counted.
    public var maxOpenRequests = 100_000
    public var limits = CardinalityLimits()
    /// Metadata keys that split a component's stats by their values (`component_label_keys`).
    public var componentLabelKeys: [String] = []
    /// The classic `le` bounds the store counts values against (`buckets_*`).
    public var classicBounds = ClassicBounds()

    public init() {}

    public var layout: WindowLayout {
        WindowLayout(collectionIntervalSeconds: max(1, collectionInterval.milliseconds / 1000),
                     retentionSeconds: max(1, retention.milliseconds / 1000))
    }
}

/// How many distinct values each label may take before new ones are folded into `__other__`.
public struct CardinalityLimits: Sendable, Equatable {
    public var providers = 100
    public var modelsPerProvider = 200
    public var endpoints = 500
    public var methodsPerEndpoint = 16
    public var components = 200
    public var operationsPerComponent = 200
    /// Custom metric names: a name past it is refused, never folded.
    public var customMetrics = 500
    /// Label sets of one custom metric; past it they fold into `{__other__="true"}`.
    public var seriesPerMetric = 1000
    /// Label sets of all custom metrics together; past it they fold the same way.
    public var customSeries = 50_000
    public var cacheScopes = 200

    public init() {}
}
