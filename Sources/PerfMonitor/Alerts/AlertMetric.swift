/// What an alert can be about (api.md §2): a statistic of a series' events, a sample of the
/// process, perfmond's own degradation rule, or a custom metric by its name. Thresholds, the
/// alert engine and the queries share this one list instead of matching names as strings.
public enum AlertMetric: Sendable, Hashable {
    // Statistics of events, judged per series over a window (they honour stat and min_samples).
    case responseTimeMs, ttftMs, successRatePercent, errorRatePercent, throughputRps, rateLimitHits, costUSDPerHour
    /// Failovers per hour from one provider to another (seed 000's "fallback triggered").
    case failoversPerHour
    // Samples of the process, judged on the latest one.
    case memoryPressure, memoryPressurePercent, rssMb, heapUsedMb, cpuPercent, inFlight
    /// The degradation rule's alerts (not a threshold a user sets).
    case responseTimeDegradation
    /// A custom metric (`type: metric` events) by name.
    case custom(String)

    public static let eventMetrics: [AlertMetric] = [.responseTimeMs, .ttftMs, .successRatePercent, .errorRatePercent,
                                                     .throughputRps, .rateLimitHits, .costUSDPerHour, .failoversPerHour]
    public static let sampledMetrics: [AlertMetric] = [.memoryPressure, .memoryPressurePercent, .rssMb, .heapUsedMb, .cpuPercent, .inFlight]
    /// The sampled metrics about memory (`/performance/memory` lists their alerts).
    public static let memoryMetrics: Set<AlertMetric> = [.memoryPressure, .memoryPressurePercent, .rssMb, .heapUsedMb]

    /// The metric a threshold names: a known one, or a custom metric name; nil for neither.
    public init?(name: String) {
        if let known = (Self.eventMetrics + Self.sampledMetrics).first(where: { $0.name == name }) {
            self = known
        } else if EventFields.isMetricName(name) {
            self = .custom(name)
        } else {
            return nil
        }
    }

    /// As the API spells it.
    public var name: String {
        switch self {
        case .responseTimeMs: "response_time_ms"
        case .ttftMs: "ttft_ms"
        case .successRatePercent: "success_rate_percent"
        case .errorRatePercent: "error_rate_percent"
        case .throughputRps: "throughput_rps"
        case .rateLimitHits: "rate_limit_hits"
        case .costUSDPerHour: "cost_usd_per_hour"
        case .failoversPerHour: "failovers_per_hour"
        case .memoryPressure: "memory_pressure"
        case .memoryPressurePercent: "memory_pressure_percent"
        case .rssMb: "rss_mb"
        case .heapUsedMb: "heap_used_mb"
        case .cpuPercent: "cpu_percent"
        case .inFlight: "in_flight"
        case .responseTimeDegradation: "response_time_degradation"
        case let .custom(name): name
        }
    }

    public var isSampled: Bool { Self.sampledMetrics.contains(self) }
    public var isEventStatistic: Bool { Self.eventMetrics.contains(self) }
}
