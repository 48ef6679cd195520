import PerfJSON
import Synchronization

/// One alert: a threshold (or the degradation rule) holding for one series or for the process.
public struct Alert: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, firing, resolved
    }

    /// Stable for the same rule and series: `<metric>:<severity>:<threshold>:<scope>`.
    public let id: String
    public let metric: String
    /// The series it is about (`provider`/`model`, `endpoint`/`method`, `component`/`operation`,
    /// `metric`); empty for the process.
    public let scope: [(String, String)]
    public var state: State
    public let severity: AlertThreshold.Severity
    public var currentValue: Double
    public let threshold: Double
    public let comparison: AlertThreshold.Comparison
    public var message: String
    /// When the condition began to hold (pending), or when it fired.
    public var since: Double
    public var resolvedAt: Double?

    public init(id: String, metric: String, scope: [(String, String)], state: State, severity: AlertThreshold.Severity,
                currentValue: Double, threshold: Double, comparison: AlertThreshold.Comparison, message: String,
                since: Double, resolvedAt: Double?) {
        self.id = id
        self.metric = metric
        self.scope = scope
        self.state = state
        self.severity = severity
        self.currentValue = currentValue
        self.threshold = threshold
        self.comparison = comparison
        self.message = message
        self.since = since
        self.resolvedAt = resolvedAt
    }

    /// Seed 002's string form: `[warning] High memory pressure detected (85.5%)`.
    public var text: String { "[\(severity.rawValue)] \(message)" }

    public static func == (lhs: Alert, rhs: Alert) -> Bool {
        lhs.id == rhs.id && lhs.state == rhs.state && lhs.currentValue == rhs.currentValue && lhs.since == rhs.since
            && lhs.resolvedAt == rhs.resolvedAt && lhs.message == rhs.message
    }
}

extension Alert {
    /// As `/performance/alerts` shows it (api.md §2) and the webhook sends it.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("metric", .string(metric)),
            ("scope", .object(scope.map { ($0.0, JSONValue.string($0.1)) })),
            ("state", .string(state.rawValue)), ("severity", .string(severity.rawValue)),
            ("current_value", .double(currentValue)), ("threshold", .double(threshold)), ("comparison", .string(comparison.rawValue)),
            ("message", .string(message)), ("since", .double(since)),
        ]
        if let resolvedAt { members.append(("resolved_at", .double(resolvedAt))) }
        return .object(members)
    }

    /// Where it is, in one word for people: `openai/gpt-4o`, `/v1/chat/POST`, or `perfmond`.
    public var component: String { scope.isEmpty ? "perfmond" : scope.map(\.1).joined(separator: "/") }
}

/// What `/performance/alerts` shows.
public struct AlertSnapshot: Sendable {
    public var firing: [Alert] = []
    /// The bounded history, newest first: firing and resolved.
    public var recent: [Alert] = []

    /// `critical` when a critical alert fires, `degraded` when a warning or error one does.
    public var systemHealth: String {
        if firing.contains(where: { $0.severity == .critical }) { return "critical" }
        if firing.contains(where: { $0.severity == .warning || $0.severity == .error }) { return "degraded" }
        return "healthy"
    }
}

/// Evaluates the alert thresholds every collection interval (on the maintenance timer, never on
/// a query): each unscoped threshold per series of its metric, scoped ones on their series,
/// sampled metrics on the latest process sample, plus degradation detection (p95 of the last
/// 5 minutes against the hour before, seed 000).
public final class AlertEngine: Sendable {
    /// Degradation: the last 5 minutes' p95 at least this many times the previous hour's.
    static let degradationRatio = 1.5
    static let degradationMinimumSamples = 10.0
    static let historyCapacity = 200

    private struct State {
        var active: [String: Alert] = [:]
        var history: [Alert] = []
        /// When each alert id last resolved (for the cooldown).
        var resolvedAt: [String: Double] = [:]
        /// The degradation baseline (the hour before the last 5 minutes) and when it was taken.
        var baseline: [SeriesView] = []
        var baselineTakenAt = -Double.infinity
    }

    /// The baseline moves slowly: it is recomputed once a minute, not every evaluation.
    static let baselineRefresh = 60.0

    private let rules: AlertRules
    private let store: MetricsStore
    private let monitor: SystemMonitor
    private let clock: any StoreClock
    private let state = Mutex(State())

    public init(rules: AlertRules, store: MetricsStore, monitor: SystemMonitor, clock: any StoreClock) {
        self.rules = rules
        self.store = store
        self.monitor = monitor
        self.clock = clock
    }

    public var snapshot: AlertSnapshot {
        state.withLock { state in
            AlertSnapshot(firing: state.active.values.filter { $0.state == .firing }.sorted { ($0.severity, $1.id) > ($1.severity, $0.id) },
                          recent: state.history)
        }
    }

    /// A condition seen in this evaluation.
    struct Observation {
        let id: String
        let metric: String
        let scope: [(String, String)]
        let threshold: AlertThreshold
        let value: Double
        let message: String
    }

    /// Evaluates every threshold and returns the transitions: alerts that began firing and alerts
    /// that resolved, for the sinks.
    @discardableResult
    public func evaluate() async -> [Alert] {
        let thresholds = rules.current
        let windows = Set(thresholds.map(\.window)).union([TimeSpan.seconds(300)])
        // Only the kinds some threshold can judge (providers always: degradation uses them).
        var kinds: Set<SeriesKind> = [.provider]
        for threshold in thresholds where !AlertThreshold.sampledMetrics.contains(threshold.metric) {
            if !AlertThreshold.eventMetrics.contains(threshold.metric) { kinds.insert(.metric) }
            else if threshold.scope.component != nil { kinds.insert(.component) }
            else if threshold.scope.isEmpty || threshold.scope.endpoint != nil { kinds.insert(.endpoint) }
        }
        let views = await store.read { [kinds] store -> [TimeSpan: [SeriesKind: [SeriesView]]] in
            var result: [TimeSpan: [SeriesKind: [SeriesView]]] = [:]
            for window in windows {
                for kind in kinds { result[window, default: [:]][kind] = store.series(kind, window: window) }
            }
            return result
        }
        let now = clock.now()
        var baseline = state.withLock { now - $0.baselineTakenAt < Self.baselineRefresh ? $0.baseline : nil }
        if baseline == nil {
            let fresh = await store.series(.provider, length: .seconds(3600), endingAgo: .seconds(300))
            state.withLock { $0.baseline = fresh; $0.baselineTakenAt = now }
            baseline = fresh
        }
        let inFlight = await store.inFlight().total
        var observations: [Observation] = []
        for threshold in thresholds {
            observations += observe(threshold, views: views[threshold.window] ?? [:], inFlight: inFlight)
        }
        let holding = observations.filter { compare($0.value, $0.threshold.comparison, $0.threshold.threshold) }
        let degraded = degradations(recent: views[.seconds(300)]?[.provider] ?? [], baseline: baseline ?? [])
        return apply(holding + degraded, now: clock.now())
    }

    private func observe(_ threshold: AlertThreshold, views: [SeriesKind: [SeriesView]], inFlight: Int) -> [Observation] {
        let id = "\(threshold.metric):\(threshold.severity.rawValue):\(JSONNumber.format(threshold.threshold))"
        if AlertThreshold.sampledMetrics.contains(threshold.metric) {
            guard let value = sampledValue(threshold.metric, inFlight: inFlight) else { return [] }
            return [Observation(id: id, metric: threshold.metric, scope: [], threshold: threshold, value: value,
                                message: threshold.message ?? Self.processMessage(threshold.metric, value))]
        }
        // The views are read in place, never copied into a list of candidates: a view carries a
        // whole aggregate, and copying 10,000 of them per threshold per tick was most of the
        // idle cost of the timer (measured).
        var observations: [Observation] = []
        func consider(_ views: [SeriesView]?, where matches: (SeriesKey) -> Bool) {
            guard let views else { return }
            for index in views.indices where matches(views[index].key) {
                guard let value = eventValue(threshold, views[index]) else { continue }
                let key = views[index].key
                let scope = Self.scope(of: key)
                let name = scope.map(\.1).joined(separator: "/")
                observations.append(Observation(
                    id: id + ":" + "\(key.kind.rawValue)/\(name)", metric: threshold.metric, scope: scope, threshold: threshold, value: value,
                    message: threshold.message ?? "\(threshold.metric) (\(threshold.stat.rawValue) over \(threshold.window)) of \(name) is \(JSONNumber.rounded(value)), \(threshold.comparison.rawValue) \(JSONNumber.format(threshold.threshold))"))
            }
        }
        if AlertThreshold.eventMetrics.contains(threshold.metric) {
            let scope = threshold.scope
            let wantsProvider = scope.provider != nil || scope.model != nil, wantsEndpoint = scope.endpoint != nil, wantsComponent = scope.component != nil
            if wantsProvider || scope.isEmpty {
                consider(views[.provider]) { (scope.provider == nil || $0.first == scope.provider) && (scope.model == nil || $0.second == scope.model) }
            }
            if wantsEndpoint || scope.isEmpty { consider(views[.endpoint]) { scope.endpoint == nil || $0.first == scope.endpoint } }
            if wantsComponent { consider(views[.component]) { $0.first == scope.component } }
        } else {
            consider(views[.metric]) { $0.first == threshold.metric }
        }
        return observations
    }

    /// The metric's value for one series over the threshold's window; nil below `min_samples`.
    private func eventValue(_ threshold: AlertThreshold, _ view: borrowing SeriesView) -> Double? {
        let minimum = Double(threshold.minSamples)
        // The sample count first: most series of a quiet window are below min_samples, and a
        // percentile costs a walk over the buckets.
        switch threshold.metric {
        case "ttft_ms": if view.aggregate.ttft.count < minimum { return nil }
        case "success_rate_percent", "error_rate_percent", "throughput_rps", "cost_usd_per_hour": if view.aggregate.total < minimum { return nil }
        case "rate_limit_hits": if view.aggregate.total + view.aggregate.rateLimitHits < minimum { return nil }
        default: if view.aggregate.distribution.count < minimum { return nil }
        }
        let aggregate = view.aggregate
        let stat = { (distribution: Distribution) -> Double in
            switch threshold.stat {
            case .avg: distribution.mean
            case .p50: distribution.quantile(0.5)
            case .p95: distribution.quantile(0.95)
            case .p99: distribution.quantile(0.99)
            }
        }
        let samples: Double
        let value: Double
        switch threshold.metric {
        case "response_time_ms": (samples, value) = (aggregate.distribution.count, stat(aggregate.distribution))
        case "ttft_ms": (samples, value) = (aggregate.ttft.count, stat(aggregate.ttft))
        case "success_rate_percent": (samples, value) = (aggregate.total, aggregate.total > 0 ? aggregate.successes / aggregate.total * 100 : 0)
        case "error_rate_percent": (samples, value) = (aggregate.total, aggregate.total > 0 ? aggregate.failures / aggregate.total * 100 : 0)
        case "throughput_rps": (samples, value) = (aggregate.total, aggregate.total / Swift.max(1, view.spanSeconds))
        case "rate_limit_hits": (samples, value) = (aggregate.total + aggregate.rateLimitHits, aggregate.rateLimitHits)
        case "cost_usd_per_hour": (samples, value) = (aggregate.total, aggregate.costUSD / Swift.max(1, view.spanSeconds) * 3600)
        default: (samples, value) = (aggregate.distribution.count, stat(aggregate.distribution))  // a custom metric
        }
        return samples >= Double(threshold.minSamples) ? value : nil
    }

    private func sampledValue(_ metric: String, inFlight: Int) -> Double? {
        if metric == "in_flight" { return Double(inFlight) }
        guard let sample = monitor.latest else { return nil }
        switch metric {
        case "memory_pressure", "memory_pressure_percent": return sample.memory.pressurePercent
        case "rss_mb": return sample.memory.rssBytes / 1_048_576
        case "heap_used_mb": return sample.memory.heapUsedBytes / 1_048_576
        case "cpu_percent": return sample.cpuPercent
        default: return nil
        }
    }

    static func processMessage(_ metric: String, _ value: Double) -> String {
        let shown = JSONNumber.rounded(value)
        switch metric {
        case "memory_pressure", "memory_pressure_percent": return "High memory pressure detected (\(shown)%)"
        case "rss_mb": return "High resident memory (\(shown) MiB)"
        case "heap_used_mb": return "High heap use (\(shown) MiB)"
        case "cpu_percent": return "High CPU use (\(shown)%)"
        default: return "Many requests in flight (\(shown))"
        }
    }

    private func degradations(recent: [SeriesView], baseline: [SeriesView]) -> [Observation] {
        let before = Dictionary(baseline.map { ($0.key, $0.aggregate.distribution) }, uniquingKeysWith: { first, _ in first })
        return recent.compactMap { view in
            guard let before = before[view.key],
                  before.count >= Self.degradationMinimumSamples, view.aggregate.distribution.count >= Self.degradationMinimumSamples else { return nil }
            let now = view.aggregate.distribution.quantile(0.95), then = before.quantile(0.95)
            guard then > 0, now >= then * Self.degradationRatio else { return nil }
            var rule = AlertThreshold(metric: "response_time_degradation", comparison: .greaterOrEqual, threshold: then * Self.degradationRatio, severity: .warning)
            rule.cooldownSeconds = 300
            let name = "\(view.key.first)/\(view.key.second)"
            return Observation(id: "response_time_degradation:\(name)", metric: rule.metric, scope: Self.scope(of: view.key), threshold: rule, value: now,
                               message: "Performance degradation of \(name): p95 \(JSONNumber.rounded(now)) ms over the last 5 minutes against \(JSONNumber.rounded(then)) ms the hour before")
        }
    }

    /// Moves every alert one step: new conditions pend (or fire at once with no `for_seconds`),
    /// pending ones fire once they have held long enough (and their cooldown is over), and alerts
    /// whose condition no longer holds resolve into the history.
    private func apply(_ holding: [Observation], now: Double) -> [Alert] {
        state.withLock { state in
            var seen = Set<String>()
            var transitions: [Alert] = []
            for observation in holding {
                seen.insert(observation.id)
                var alert = state.active[observation.id] ?? Alert(
                    id: observation.id, metric: observation.metric, scope: observation.scope, state: .pending,
                    severity: observation.threshold.severity, currentValue: observation.value, threshold: observation.threshold.threshold,
                    comparison: observation.threshold.comparison, message: observation.message, since: now, resolvedAt: nil)
                alert.currentValue = observation.value
                alert.message = observation.message
                let cooledDown = state.resolvedAt[alert.id].map { now - $0 >= observation.threshold.cooldownSeconds } ?? true
                if alert.state == .pending, now - alert.since >= observation.threshold.forSeconds, cooledDown {
                    alert.state = .firing
                    alert.since = now
                    Self.remember(alert, in: &state)
                    transitions.append(alert)
                }
                state.active[alert.id] = alert
            }
            // In id order: alerts resolved at one tick reach the history and the sinks in the same
            // order on every run (the table's own order changes from process to process).
            for id in state.active.keys.sorted() where !seen.contains(id) {
                guard let alert = state.active.removeValue(forKey: id) else { continue }
                guard alert.state == .firing else { continue }
                var resolved = alert
                resolved.state = .resolved
                resolved.resolvedAt = now
                state.resolvedAt[id] = now
                Self.remember(resolved, in: &state)
                transitions.append(resolved)
            }
            return transitions
        }
    }

    private static func remember(_ alert: Alert, in state: inout State) {
        state.history.insert(alert, at: 0)
        if state.history.count > historyCapacity { state.history.removeLast() }
    }

    private func compare(_ value: Double, _ comparison: AlertThreshold.Comparison, _ threshold: Double) -> Bool {
        switch comparison {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        }
    }

    static func scope(of key: SeriesKey) -> [(String, String)] {
        switch key.kind {
        case .provider: [("provider", key.first), ("model", key.second)]
        case .endpoint: [("endpoint", key.first), ("method", key.second)]
        case .component: [("component", key.first), ("operation", key.second)]
        default: [("metric", key.first)]
        }
    }
}
