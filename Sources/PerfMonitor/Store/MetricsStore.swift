/// The in-memory store: every aggregate the queries and `/metrics` need, per series, cumulative
/// and in time windows. Events arrive in batches (from the `IngestBuffer`); windows roll and old
/// series go on the maintenance timer, never on a query.
public actor MetricsStore {
    nonisolated public let configuration: StoreConfiguration
    public let layout: WindowLayout
    /// The classic bounds in the store's units, worked out once.
    let classicBounds: StoredClassicBounds
    // The state below is the store's own: internal only so that its reads and its snapshots, in
    // MetricsStore+Reads and MetricsStore+Snapshot, can see it.
    let clock: any StoreClock
    let buffer: IngestBuffer?
    var series: [SeriesKey: Series] = [:]
    /// Each kind's keys in order, kept between queries until a series of the kind comes or goes:
    /// sorting them for every query was an eighth of a query's time at 1,000 series.
    var sortedKeys: [SeriesKind: [SeriesKey]] = [:]
    var limiter: CardinalityLimiter
    var openCalls: OpenCalls
    var recent: EventRing
    var arrivals = ArrivalRate()
    var status = StoreStatus()
    /// Events applied, by `EventType.ordinal`: counted in an array, not a dictionary (no hashing per event).
    var appliedByType = [Int](repeating: 0, count: EventType.allCases.count)
    /// The last provider × model key and the labels it was made from. Consecutive events of one
    /// series (the usual batch) skip the limiter's three lookups per label; valid while the
    /// limiter only learns values, so it is forgotten whenever the limiter is rebuilt.
    var lastProviderKey: (provider: String, model: String?, key: SeriesKey)?
    /// The custom metric names in use, shared with the decoder.
    nonisolated public let catalog: MetricCatalog
    /// Label sets per custom metric name and in all, for the series limits.
    var customSeriesCounts: [String: Int] = [:]
    var customSeriesTotal = 0
    /// Units of custom metrics read from a snapshot, until their names are registered again.
    var restoredUnits: [String: String] = [:]
    /// The latest remaining rate limits reported per provider × model series (not persisted: the
    /// next call reports them again), removed with their series.
    var rateLimitRemaining: [SeriesKey: RateLimitRemaining] = [:]

    public init(configuration: StoreConfiguration = StoreConfiguration(), clock: any StoreClock = SystemClock(), buffer: IngestBuffer? = nil,
                catalog: MetricCatalog? = nil) {
        self.configuration = configuration
        self.catalog = catalog ?? MetricCatalog(maxNames: configuration.limits.customMetrics)
        self.layout = configuration.layout
        self.classicBounds = configuration.classicBounds.stored
        self.clock = clock
        self.buffer = buffer
        self.limiter = CardinalityLimiter(limits: configuration.limits)
        self.openCalls = OpenCalls(limit: configuration.maxOpenRequests)
        self.recent = EventRing(capacity: configuration.recentEventsCapacity)
    }

    // MARK: Writing

    /// Applies everything waiting in the ingest buffer. Every query calls it first, so a query
    /// that starts after a `202` sees those events.
    public func drain() {
        guard let buffer else { return }
        ingest(batches: buffer.takeAll())
    }

    /// Applies `events` in order.
    public func ingest(_ events: [Event]) {
        ingest(batches: [events])
    }

    /// Applies the batches in order, all at one reading of the clock.
    private func ingest(batches: [[Event]]) {
        guard !batches.isEmpty else { return }
        let now = clock.now()
        for events in batches {
            arrivals.record(events.count, at: now)
            for event in events { apply(event, now: now) }
            recent.append(events)
        }
    }

    /// What each kind of event updates: the one place that says it (api.md §1's table).
    private func apply(_ event: Event, now: Double) {
        appliedByType[event.type.ordinal] += 1
        let weight = event.weight, at = event.timestamp
        switch event.kind {
        case let .providerCall(call):
            if let id = call.requestID { openCalls.endProviderCall(id) }
            let key = providerKey(call.provider, call.model)
            record(CallFacts(call.outcome, weight: weight), in: key, at: at, now)
            if let remaining = call.rateLimitRemaining, remaining.at >= rateLimitRemaining[key]?.at ?? -.infinity {
                rateLimitRemaining[key] = remaining
            }
        case let .providerStart(start):
            open(start.requestID, OpenCalls.Call(timestamp: at, receivedAt: now, endpoint: nil, method: nil, provider: start.provider, model: start.model),
                 providerCall: true)
        case let .requestStart(start):
            open(start.requestID, OpenCalls.Call(timestamp: at, receivedAt: now, endpoint: start.endpoint, method: start.method,
                                                 provider: start.provider, model: start.model, component: start.component,
                                                 operation: start.operation),
                 providerCall: false)
        case let .requestEnd(end):
            endRequest(end, at: at, weight: weight, metadata: event.metadata, now: now)
        case let .request(call):
            record(CallFacts(call.outcome, weight: weight), in: endpointKey(endpoint: call.endpoint, method: call.method), at: at, now)
            countCacheLookup(of: call.outcome, endpoint: call.endpoint, weight: weight, at: at, now)
        case let .operation(sample):
            record(CallFacts(sample.outcome, weight: weight), in: componentKey(sample.component, sample.operation, event.metadata), at: at, now)
        case let .cache(lookup):
            let scope = limiter.admit(lookup.scope, .cacheScope)
            update(SeriesKey(.cache, scope), at: at, now) { aggregate in
                if lookup.hit { aggregate.cacheHits += weight } else { aggregate.cacheMisses += weight }
                if let accessTime = lookup.accessTimeMs { aggregate.distribution.record(accessTime, weight: weight) }
            }
        case let .error(report):
            var keys: [SeriesKey] = []
            if let provider = report.provider { keys.append(providerKey(provider, report.model)) }
            if let endpoint = report.endpoint { keys.append(endpointKey(endpoint: endpoint, method: report.method)) }
            if let component = report.component { keys.append(componentKey(component, report.operation, event.metadata)) }
            if keys.isEmpty { keys.append(SeriesKey(.errors, "global")) }
            let type = report.countedType
            for key in keys { update(key, at: at, now) { $0.recordError(type: type, weight: weight) } }
        case let .rateLimit(hit):
            update(providerKey(hit.provider, hit.model), at: at, now) { $0.rateLimitHits += weight }
        case let .failover(failover):
            let from = limiter.admit(failover.from, .provider)
            let to = limiter.admit(failover.to, .provider)
            update(SeriesKey(.failover, from, to), at: at, now) { $0.total += weight }
        case let .metric(sample):
            applyMetric(sample, at: at, weight: weight, now: now)
        case let .providerUsage(usage):
            let bounds = classicBounds.timeToFirstToken
            update(providerKey(usage.provider, usage.model), at: at, now, { $0.callTotals.recordUsage(usage, weight: weight) }, classic: { classic in
                if let ttftMs = usage.ttftMs { classic.timeToFirstToken.record(ttftMs, weight: weight, bounds: bounds) }
            })
        }
    }

    /// A custom metric event: its name registered (a kind conflict from a concurrent request is
    /// dropped and counted), its label set folded into `{__other__="true"}` past the series limits
    /// (counted by name), a gauge's delta resolved against the series' value, a time unit's
    /// histogram value kept in milliseconds.
    private func applyMetric(_ sample: MetricSample, at timestamp: Double, weight: Double, now: Double) {
        guard catalog.register(sample) else {
            status.droppedMetricEvents += 1
            return
        }
        let kind = sample.kind.seriesKind
        var key = SeriesKey(kind, sample.name, sample.labels.key)
        // One lookup for the usual event, whose series exists: its position serves the update.
        var position = series.index(forKey: key)
        if position == nil {
            let limits = configuration.limits
            if customSeriesCounts[sample.name, default: 0] >= limits.seriesPerMetric || customSeriesTotal >= limits.customSeries {
                key = SeriesKey(kind, sample.name, MetricLabels.folded.key)
                if case let .batch(batch) = sample.update {
                    status.foldedByMetric[sample.name, default: 0] += batch.aggregate.total
                    if sample.source == .statsd { status.foldedStatsDValues += batch.values }
                } else {
                    status.foldedByMetric[sample.name, default: 0] += weight
                    if sample.source == .statsd { status.foldedStatsDValues += 1 }
                }
                position = series.index(forKey: key)
            }
            if position == nil {
                customSeriesCounts[sample.name, default: 0] += 1
                customSeriesTotal += 1
            }
        }
        var change = sample.update
        switch change {
        case let .gaugeDelta(delta): change = .gauge((position.map { series.values[$0].cumulative.lastValue } ?? 0) + delta)
        case let .histogram(value): if let unit = TimeUnit(sample.unit) { change = .histogram(value * unit.milliseconds) }
        default: break
        }
        let resolved = change
        let record = { (aggregate: inout Aggregate) in aggregate.recordMetric(resolved, at: timestamp, weight: weight) }
        // A histogram's values per classic bound: one by one exactly, a batch folded from its sketch.
        var classic: ((inout ClassicHistograms) -> Void)?
        if kind == .histogram, let bounds = classicBounds.values(of: kind, timed: TimeUnit(sample.unit) != nil) {
            switch resolved {
            case let .histogram(value): classic = { $0.values.record(value, weight: weight, bounds: bounds) }
            case let .batch(batch): classic = { $0.values.fold(batch.aggregate.distribution, bounds: bounds) }
            default: break
            }
        }
        if let position {
            series.values[position].record(at: timestamp, now: now, layout: layout, record, classic: classic)
        } else {
            update(key, at: timestamp, now, record, classic: classic)
        }
    }

    private func providerKey(_ provider: String, _ model: String?) -> SeriesKey {
        if let last = lastProviderKey, last.provider == provider, last.model == model { return last.key }
        let admittedProvider = limiter.admit(provider, .provider)
        let key = SeriesKey(.provider, admittedProvider, limiter.admit(model ?? "unknown", .model, parent: admittedProvider))
        // A folded label must go through the limiter again: each fold is counted.
        let admittedAsSent = key.first == provider && key.second == (model ?? "unknown")
        lastProviderKey = admittedAsSent ? (provider, model, key) : nil
        return key
    }

    private func endpointKey(endpoint: String, method: String?) -> SeriesKey {
        let path = limiter.admit(endpoint, .endpoint)
        return SeriesKey(.endpoint, path, limiter.admit(method ?? "UNKNOWN", .method, parent: path))
    }

    /// A component's series; with `component_label_keys`, an event whose metadata has any of
    /// those keys counts in the component split by their values (`abtest[variant=A]`, seed 002's
    /// A/B test), a component of its own under the same limits.
    private func componentKey(_ component: String, _ operation: String?, _ metadata: [String: String]) -> SeriesKey {
        var component = component
        if !configuration.componentLabelKeys.isEmpty, !metadata.isEmpty {
            let split = configuration.componentLabelKeys.compactMap { key in metadata[key].map { "\(key)=\($0)" } }
            if !split.isEmpty { component += "[" + split.joined(separator: ",") + "]" }
        }
        let name = limiter.admit(component, .component)
        return SeriesKey(.component, name, limiter.admit(operation ?? "default", .operation, parent: name))
    }

    private func update(_ key: SeriesKey, at timestamp: Double, _ now: Double, _ body: (inout Aggregate) -> Void,
                        classic: ((inout ClassicHistograms) -> Void)? = nil) {
        let layout = self.layout
        let count = series.count
        series[key, default: Series(layout: layout, now: now)].record(at: timestamp, now: now, layout: layout, body, classic: classic)
        if series.count != count { sortedKeys[key.kind] = nil }
    }

    /// A completed call: its duration and time to first token also counted per classic bound.
    private func record(_ call: CallFacts, in key: SeriesKey, at timestamp: Double, _ now: Double) {
        // Only the bounds a call needs are taken (each a retain): copying all six cost more than counting.
        let valueBounds = call.durationMs == nil ? nil : classicBounds.values(of: key.kind, timed: true)
        let ttftBounds = call.ttftMs == nil ? nil : classicBounds.timeToFirstToken
        update(key, at: timestamp, now, { $0.recordCall(call) }, classic: { classic in
            if let durationMs = call.durationMs, let valueBounds { classic.values.record(durationMs, weight: call.weight, bounds: valueBounds) }
            if let ttftMs = call.ttftMs, let ttftBounds { classic.timeToFirstToken.record(ttftMs, weight: call.weight, bounds: ttftBounds) }
        })
    }

    /// Remembers a start until its end; counted when refused for the limit of open starts.
    private func open(_ id: String, _ call: OpenCalls.Call, providerCall: Bool) {
        if !openCalls.open(id, call, providerCall: providerCall) { status.droppedStarts += 1 }
    }

    /// An end counts for its endpoint × method, what it lacks taken from its start; the end of a
    /// component's task (a start naming a component and no endpoint) for that component × operation.
    private func endRequest(_ end: RequestEnd, at timestamp: Double, weight: Double, metadata: [String: String], now: Double) {
        let start = end.requestID.flatMap { openCalls.endRequest($0) }
        var outcome = end.outcome
        if outcome.durationMs == nil, let start { outcome.durationMs = Swift.max(0, (timestamp - start.timestamp) * 1000) }
        guard let endpoint = end.endpoint ?? start?.endpoint else {
            if let component = start?.component {
                record(CallFacts(outcome, weight: weight), in: componentKey(component, start?.operation, metadata), at: timestamp, now)
            } else {
                status.unmatchedEnds += 1
            }
            return
        }
        record(CallFacts(outcome, weight: weight), in: endpointKey(endpoint: endpoint, method: end.method ?? start?.method), at: timestamp, now)
        countCacheLookup(of: outcome, endpoint: endpoint, weight: weight, at: timestamp, now)
    }

    /// A request's `cache_hit`: a hit or miss of the cache scope named by its endpoint.
    private func countCacheLookup(of outcome: CallOutcome, endpoint: String, weight: Double, at timestamp: Double, _ now: Double) {
        guard let hit = outcome.cacheHit else { return }
        update(SeriesKey(.cache, limiter.admit(endpoint, .cacheScope)), at: timestamp, now) { aggregate in
            if hit { aggregate.cacheHits += weight } else { aggregate.cacheMisses += weight }
        }
    }

    // MARK: Maintenance

    /// Rolls windows, removes series quiet for longer than the retention, abandons starts older
    /// than the request timeout. The daemon calls it every collection interval.
    public func maintain() {
        drain()
        let now = clock.now()
        let layout = self.layout
        let retention = configuration.retention.seconds
        // Remove only what is stale (copying the whole table every tick cost more than the work).
        let stale = series.compactMap { $0.value.lastSeen < now - retention ? $0.key : nil }
        if !stale.isEmpty {
            for key in stale {
                series[key] = nil
                rateLimitRemaining[key] = nil
            }
            status.removedSeries += stale.count
            seriesWereRemovedOrRestored()
        }
        for index in series.indices { series.values[index].windows.roll(now: now, layout: layout) }
        if stale.isEmpty { reconcileCatalog() }  // else done by seriesWereRemovedOrRestored
        let abandoned = openCalls.abandon(receivedBefore: now - configuration.requestTimeout.seconds)
        status.abandonedRequests += abandoned.requests
        status.abandonedProviderCalls += abandoned.providerCalls
    }

    /// Rebuilds what is derived from the set of series: the limiter's known values (and the key
    /// memo that relies on them only growing) and the sorted keys.
    func seriesWereRemovedOrRestored() {
        limiter.rebuild(from: series.keys)
        lastProviderKey = nil
        sortedKeys = [:]
        reconcileCatalog()
    }

    /// Recounts the custom series and keeps in the catalog only the names that have series (a name
    /// registered by a request refused whole goes here), with their kinds and units.
    func reconcileCatalog() {
        customSeriesCounts = [:]
        customSeriesTotal = 0
        let current = catalog.current
        var kinds: [String: (MetricKind, String?)] = [:]
        for key in series.keys {
            guard let kind = MetricKind.of(key.kind) else { continue }
            customSeriesCounts[key.first, default: 0] += 1
            customSeriesTotal += 1
            kinds[key.first] = (kind, current[key.first]?.unit ?? restoredUnits[key.first])
        }
        catalog.replace(with: kinds)
    }

    /// Events applied so far, by type (the types with none left out).
    var appliedCounts: [EventType: Int] {
        var counts: [EventType: Int] = [:]
        for type in EventType.allCases where appliedByType[type.ordinal] > 0 { counts[type] = appliedByType[type.ordinal] }
        return counts
    }
}

extension Series {
    /// Applies `body` to the totals and the window of `timestamp`, and `classic` to the classic counts.
    mutating func record(at timestamp: Double, now: Double, layout: WindowLayout, _ body: (inout Aggregate) -> Void,
                         classic: ((inout ClassicHistograms) -> Void)? = nil) {
        body(&cumulative)
        classic?(&self.classic)
        windows.update(at: timestamp, now: now, layout: layout, body)
        lastSeen = now
    }
}

extension CardinalityLimiter {
    /// Forgets every value, then re-admits those the remaining series use.
    mutating func rebuild(from keys: Dictionary<SeriesKey, Series>.Keys) {
        var fresh = CardinalityLimiter(limits: limits)
        fresh.keepFolded(from: self)
        for key in keys {
            switch key.kind {
            case .provider:
                _ = fresh.admit(key.first, .provider)
                _ = fresh.admit(key.second, .model, parent: key.first)
            case .endpoint:
                _ = fresh.admit(key.first, .endpoint)
                _ = fresh.admit(key.second, .method, parent: key.first)
            case .component:
                _ = fresh.admit(key.first, .component)
                _ = fresh.admit(key.second, .operation, parent: key.first)
            case .cache: _ = fresh.admit(key.first, .cacheScope)
            case .metric, .counter, .gauge, .histogram, .set: break  // names: the catalog; label sets: the series limits
            case .failover:
                _ = fresh.admit(key.first, .provider)
                _ = fresh.admit(key.second, .provider)
            case .errors: break
            }
        }
        self = fresh
    }
}
