/// What one OTLP request became: the events for the store, the items refused and why, and how
/// every item was used (`perfmond_otlp_points_total`, `perfmond_otlp_spans_total`).
public struct OTLPMapped: Sendable {
    public var events: [Event] = []
    public var refusals = OTLP.Refusals()
    /// Of the refused items, those of a kind perfmond does not read (summary points).
    public var unsupported = 0
    /// Attributes past a custom metric's 8th label (in key order), dropped; their points kept.
    public var labelsDropped = 0
    public var points = OTLPTally<OTLPPointOutcome>()
    public var spans = OTLPTally<OTLPSpanOutcome>()

    public init() {}

    /// Items refused in all, unsupported ones included (what `partialSuccess` reports).
    public var rejected: Int { refusals.count }
}

/// How a metric data point was used.
public enum OTLPPointOutcome: String, Sendable, CaseIterable {
    /// A GenAI point that fed provider × model stats.
    case providerStats = "provider_stats"
    case customMetric = "custom_metric"
    /// A cumulative point that added nothing: the first of a stream older than perfmond (its
    /// baseline), the same point again, or an older one arriving late.
    case unchanged
    /// A point flagged "no recorded value".
    case noValue = "no_value"
    case rejected
    /// A summary point (its quantiles cannot be merged): refused.
    case unsupported
}

/// How a span was used.
public enum OTLPSpanOutcome: String, Sendable, CaseIterable {
    case providerCall = "provider_call"
    case endpointRequest = "endpoint_request"
    case operation
    /// Not of a kind `otlp_spans` selects (or a GenAI span under `otlp_genai_source: metrics`).
    case ignored
    case rejected
}

/// Items counted by outcome.
public struct OTLPTally<Outcome: RawRepresentable & CaseIterable & Hashable & Sendable>: Sendable, Equatable {
    public private(set) var counts: [Outcome: Int] = [:]

    public init() {}

    public mutating func count(_ outcome: Outcome, _ items: Int = 1) { counts[outcome, default: 0] += items }
    public mutating func add(_ other: OTLPTally) { counts.merge(other.counts, uniquingKeysWith: +) }
    public subscript(outcome: Outcome) -> Int { counts[outcome] ?? 0 }
    public var total: Int { counts.values.reduce(0, +) }
}
