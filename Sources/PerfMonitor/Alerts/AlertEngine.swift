import PerfJSON
import Synchronization

/// Evaluates the alert thresholds every collection interval (on the maintenance timer, never on
/// a query): each unscoped threshold per series of its metric, scoped ones on their series,
/// sampled metrics on the latest process sample, plus degradation detection (p95 of the last
/// 5 minutes against the hour before, seed 000).
public final class AlertEngine: Sendable {
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
    /// The recent p95 of each provider × model against its baseline (seed 000); off, or tuned, by
    /// the `degradation_*` keys.
    private let degradation: DegradationAlert
    private let state = Mutex(State())

    public init(rules: AlertRules, store: MetricsStore, monitor: SystemMonitor, clock: any StoreClock,
                degradation: DegradationAlert = DegradationAlert()) {
        self.rules = rules
        self.store = store
        self.monitor = monitor
        self.clock = clock
        self.degradation = degradation
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
        let metric: AlertMetric
        let scope: [(String, String)]
        let threshold: AlertThreshold
        let value: Double
        let message: String
    }

    /// Evaluates every threshold and returns the transitions: alerts that began firing and alerts
    /// that resolved, for the sinks.
    @discardableResult
    public func evaluate() async -> [Alert] {
        let thresholds = rules.current.filter(\.enabled)
        let detection = degradation.detection
        let windows = Set(thresholds.map(\.window)).union(degradation.enabled ? [detection.recent] : [])
        // Only the kinds some threshold can judge (providers always: degradation uses them).
        var kinds: Set<SeriesKind> = [.provider]
        for threshold in thresholds where !threshold.metric.isSampled {
            if threshold.metric == .failoversPerHour { kinds.insert(.failover) }
            else if !threshold.metric.isEventStatistic { kinds.formUnion(MetricKind.allCases.map(\.seriesKind)) }
            else {
                if threshold.scope.judges(.endpoint) { kinds.insert(.endpoint) }
                if threshold.scope.judges(.component) { kinds.insert(.component) }
            }
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
        if baseline == nil, degradation.enabled {
            let fresh = await detection.baselineSeries(in: store)
            state.withLock { $0.baseline = fresh; $0.baselineTakenAt = now }
            baseline = fresh
        }
        let inFlight = await store.inFlight().total
        var observations: [Observation] = []
        for threshold in thresholds {
            observations += observe(threshold, views: views[threshold.window] ?? [:], inFlight: inFlight)
        }
        let holding = observations.filter { compare($0.value, $0.threshold.comparison, $0.threshold.threshold) }
        let degraded = degradation.enabled ? degradations(recent: views[detection.recent]?[.provider] ?? [], baseline: baseline ?? []) : []
        return apply(holding + degraded, now: clock.now())
    }

    private func observe(_ threshold: AlertThreshold, views: [SeriesKind: [SeriesView]], inFlight: Int) -> [Observation] {
        // What the rule is, never its configured name: two rules that judge alike are one alert.
        let id = threshold.derivedID
        if threshold.metric.isSampled {
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
                    message: threshold.message ?? "\(threshold.metric.name) (\(threshold.stat.rawValue) over \(threshold.window)) of \(name) is \(JSONNumber.rounded(value)), \(threshold.comparison.rawValue) \(JSONNumber.format(threshold.threshold))"))
            }
        }
        if threshold.metric == .failoversPerHour {
            // Each from → to pair; a scope's provider names the one failed over from.
            let scope = threshold.scope
            if scope.judges(.provider) { consider(views[.failover]) { scope.provider == nil || $0.first == scope.provider } }
        } else if threshold.metric.isEventStatistic {
            let scope = threshold.scope
            if scope.judges(.provider) { consider(views[.provider]) { scope.covers(.provider, $0.first, $0.second) } }
            if scope.judges(.endpoint) { consider(views[.endpoint]) { scope.covers(.endpoint, $0.first, $0.second) } }
            if scope.judges(.component) { consider(views[.component]) { scope.covers(.component, $0.first, $0.second) } }
        } else {
            // A custom metric, of whichever kind its series are: each series judged on its own,
            // those with all of scope.labels when the threshold names some.
            let name = threshold.metric.name, wanted = threshold.scope.labels
            for kind in MetricKind.allCases {
                consider(views[kind.seriesKind]) { key in
                    guard key.first == name else { return false }
                    guard !wanted.isEmpty else { return true }
                    let labels = MetricLabels(key: key.second) ?? .none
                    return wanted.allSatisfy { want in zip(labels.names, labels.values).contains { $0 == want.key && $1 == want.value } }
                }
            }
        }
        return observations
    }

    /// The metric's value for one series over the threshold's window; nil below `min_samples`.
    private func eventValue(_ threshold: AlertThreshold, _ view: borrowing SeriesView) -> Double? {
        let minimum = Double(threshold.minSamples)
        if let kind = MetricKind.of(view.key.kind), kind != .histogram, kind != .untyped {
            return Self.customValue(threshold, kind: kind, aggregate: view.aggregate)
        }
        // The sample count first: most series of a quiet window are below min_samples, and a
        // percentile costs a walk over the buckets.
        switch threshold.metric {
        case .ttftMs: if view.aggregate.ttft.count < minimum { return nil }
        case .successRatePercent, .errorRatePercent, .throughputRps, .costUSDPerHour, .failoversPerHour: if view.aggregate.total < minimum { return nil }
        case .rateLimitHits: if view.aggregate.total + view.aggregate.rateLimitHits < minimum { return nil }
        default: if view.aggregate.distribution.count < minimum { return nil }
        }
        let aggregate = view.aggregate
        let stat = { (distribution: Distribution) -> Double in
            switch threshold.stat {
            case .avg: distribution.mean
            case .p50: distribution.quantile(0.5)
            case .p95: distribution.quantile(0.95)
            case .p99: distribution.quantile(0.99)
            case .p999: distribution.quantile(0.999)
            case .count: distribution.count
            case .sum: distribution.sum
            case .last: aggregate.lastValue
            }
        }
        let samples: Double
        let value: Double
        switch threshold.metric {
        case .responseTimeMs: (samples, value) = (aggregate.distribution.count, stat(aggregate.distribution))
        case .ttftMs: (samples, value) = (aggregate.ttft.count, stat(aggregate.ttft))
        case .successRatePercent: (samples, value) = (aggregate.total, aggregate.total > 0 ? aggregate.successes / aggregate.total * 100 : 0)
        case .errorRatePercent: (samples, value) = (aggregate.total, aggregate.total > 0 ? aggregate.failures / aggregate.total * 100 : 0)
        case .throughputRps: (samples, value) = (aggregate.total, aggregate.total / Swift.max(1, view.spanSeconds))
        case .rateLimitHits: (samples, value) = (aggregate.total + aggregate.rateLimitHits, aggregate.rateLimitHits)
        case .costUSDPerHour: (samples, value) = (aggregate.total, aggregate.costUSD / Swift.max(1, view.spanSeconds) * 3600)
        case .failoversPerHour: (samples, value) = (aggregate.total, aggregate.total / Swift.max(1, view.spanSeconds) * 3600)
        default: (samples, value) = (aggregate.distribution.count, stat(aggregate.distribution))  // a custom metric
        }
        return samples >= Double(threshold.minSamples) ? value : nil
    }

    /// A counter, gauge or set judged by `count`, `sum` or `last` (a set: distinct members); a
    /// gauge by its distribution's stats too; nil for a stat the kind does not have.
    static func customValue(_ threshold: AlertThreshold, kind: MetricKind, aggregate: Aggregate) -> Double? {
        guard aggregate.total >= Double(threshold.minSamples) else { return nil }
        switch (kind, threshold.stat) {
        case (_, .count): return kind == .set ? Double(aggregate.distinct.count) : aggregate.total
        case (.counter, .sum), (.counter, .last): return aggregate.valueSum
        case (.gauge, .last): return aggregate.lastValue
        case (.gauge, .sum): return aggregate.distribution.sum
        case (.set, .last), (.set, .sum): return Double(aggregate.distinct.count)
        case (.gauge, .avg): return aggregate.distribution.mean
        case (.gauge, .p50): return aggregate.distribution.quantile(0.5)
        case (.gauge, .p95): return aggregate.distribution.quantile(0.95)
        case (.gauge, .p99): return aggregate.distribution.quantile(0.99)
        case (.gauge, .p999): return aggregate.distribution.quantile(0.999)
        default: return nil
        }
    }

    private func sampledValue(_ metric: AlertMetric, inFlight: Int) -> Double? {
        if metric == .inFlight { return Double(inFlight) }
        guard let sample = monitor.latest else { return nil }
        switch metric {
        case .memoryPressure, .memoryPressurePercent: return sample.memory.pressurePercent
        case .rssMb: return sample.memory.rssBytes / ByteCount.mebibyte
        case .heapUsedMb: return sample.memory.heapUsedBytes / ByteCount.mebibyte
        case .cpuPercent: return sample.cpuPercent
        default: return nil
        }
    }

    static func processMessage(_ metric: AlertMetric, _ value: Double) -> String {
        let shown = JSONNumber.rounded(value)
        switch metric {
        case .memoryPressure, .memoryPressurePercent: return "High memory pressure detected (\(shown)%)"
        case .rssMb: return "High resident memory (\(shown) MiB)"
        case .heapUsedMb: return "High heap use (\(shown) MiB)"
        case .cpuPercent: return "High CPU use (\(shown)%)"
        default: return "Many requests in flight (\(shown))"
        }
    }

    private func degradations(recent: [SeriesView], baseline: [SeriesView]) -> [Observation] {
        let ratio = degradation.ratio, detection = degradation.detection
        return detection.findings(recent: recent, baseline: baseline, ratio: ratio, of: \.distribution).map { found in
            var rule = AlertThreshold(metric: .responseTimeDegradation, comparison: .greaterOrEqual, threshold: found.then * ratio,
                                      severity: .warning)
            rule.cooldownSeconds = 300
            let name = "\(found.key.first)/\(found.key.second)"
            return Observation(id: "response_time_degradation:\(name)", metric: rule.metric, scope: Self.scope(of: found.key), threshold: rule,
                               value: found.now,
                               message: "Performance degradation of \(name): p95 \(JSONNumber.rounded(found.now)) ms over the last \(detection.recent) against \(JSONNumber.rounded(found.then)) ms in the \(detection.baseline) before")
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
        case .failover: [("provider", key.first), ("to_provider", key.second)]
        case .metric, .counter, .gauge, .histogram, .set: [("metric", key.first)] + (MetricLabels(key: key.second)?.pairs ?? [])
        default: [("metric", key.first)]
        }
    }
}
