/// Where the store reads the time; tests inject a clock they move by hand, so no test sleeps.
public protocol StoreClock: Sendable {
    /// Unix seconds.
    func now() -> Double
}

/// The real time of day.
public struct SystemClock: StoreClock {
    public init() {}
    public func now() -> Double { WallClock.now() }
}

/// One series as a query sees it: totals over the window asked for (or since first seen).
public struct SeriesView: Sendable {
    public let key: SeriesKey
    public let aggregate: Aggregate
    public let firstSeen: Double
    public let lastSeen: Double
    /// Seconds the aggregate covers: the window, or the time since the series' first event.
    public let spanSeconds: Double
}

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
    /// Series removed after a retention without events.
    public var removedSeries = 0
    public var appliedByType: [EventType: Int] = [:]

    public init() {}

    public var seriesCount: Int { seriesByKind.values.reduce(0, +) }
}

/// The in-memory store: every aggregate the queries and `/metrics` need, per series, cumulative
/// and in time windows. Events arrive in batches (from the `IngestBuffer`); windows roll and old
/// series go on the maintenance timer, never on a query.
public actor MetricsStore {
    public let configuration: StoreConfiguration
    public let layout: WindowLayout
    private let clock: any StoreClock
    private let buffer: IngestBuffer?
    private var series: [SeriesKey: Series] = [:]
    /// Each kind's keys in order, kept between queries until a series of the kind comes or goes:
    /// sorting them for every query was an eighth of a query's time at 1,000 series.
    private var sortedKeys: [SeriesKind: [SeriesKey]] = [:]
    private var limiter: CardinalityLimiter
    private var openRequests: [String: OpenCall] = [:]
    private var openProviderCalls: [String: OpenCall] = [:]
    private var recent: EventRing
    private var arrivals = ArrivalRate()
    private var status = StoreStatus()
    /// Events applied, by `EventType.ordinal`: counted in an array, not a dictionary (no hashing per event).
    private var appliedByType = [Int](repeating: 0, count: EventType.allCases.count)
    /// The last provider × model key and the labels it was made from. Consecutive events of one
    /// series (the usual batch) skip the limiter's three lookups per label; valid while the
    /// limiter only learns values, so it is forgotten whenever the limiter is rebuilt.
    private var lastProviderKey: (provider: String, model: String?, key: SeriesKey)?

    /// A start waiting for its end.
    struct OpenCall: Sendable {
        let timestamp: Double
        let receivedAt: Double
        let endpoint: String?
        let method: String?
        let provider: String?
        let model: String?
    }

    public init(configuration: StoreConfiguration = StoreConfiguration(), clock: any StoreClock = SystemClock(), buffer: IngestBuffer? = nil) {
        self.configuration = configuration
        self.layout = configuration.layout
        self.clock = clock
        self.buffer = buffer
        self.limiter = CardinalityLimiter(limits: configuration.limits)
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
            if let id = call.requestID { openProviderCalls[id] = nil }
            record(CallFacts(call.outcome, weight: weight), in: providerKey(call.provider, call.model), at: at, now)
        case let .providerStart(start):
            open(start.requestID, OpenCall(timestamp: at, receivedAt: now, endpoint: nil, method: nil, provider: start.provider, model: start.model),
                 providerCall: true)
        case let .requestStart(start):
            open(start.requestID, OpenCall(timestamp: at, receivedAt: now, endpoint: start.endpoint, method: start.method,
                                           provider: start.provider, model: start.model),
                 providerCall: false)
        case let .requestEnd(end):
            endRequest(end, at: at, weight: weight, now: now)
        case let .request(call):
            record(CallFacts(call.outcome, weight: weight), in: endpointKey(endpoint: call.endpoint, method: call.method), at: at, now)
        case let .operation(sample):
            record(CallFacts(sample.outcome, weight: weight), in: componentKey(sample.component, sample.operation), at: at, now)
        case let .cache(lookup):
            let scope = limiter.admit(lookup.scope, .cacheScope)
            update(SeriesKey(.cache, scope), at: at, now) { aggregate in
                if lookup.hit { aggregate.cacheHits += weight } else { aggregate.cacheMisses += weight }
            }
        case let .error(report):
            var keys: [SeriesKey] = []
            if let provider = report.provider { keys.append(providerKey(provider, report.model)) }
            if let endpoint = report.endpoint { keys.append(endpointKey(endpoint: endpoint, method: report.method)) }
            if let component = report.component { keys.append(componentKey(component, report.operation)) }
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
            let name = limiter.admit(sample.name, .metric)
            update(SeriesKey(.metric, name), at: at, now) { $0.recordValue(sample.value, at: at, weight: weight) }
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

    private func componentKey(_ component: String, _ operation: String?) -> SeriesKey {
        let name = limiter.admit(component, .component)
        return SeriesKey(.component, name, limiter.admit(operation ?? "default", .operation, parent: name))
    }

    private func update(_ key: SeriesKey, at timestamp: Double, _ now: Double, _ body: (inout Aggregate) -> Void) {
        let layout = self.layout
        let count = series.count
        series[key, default: Series(layout: layout, now: now)].record(at: timestamp, now: now, layout: layout, body)
        if series.count != count { sortedKeys[key.kind] = nil }
    }

    private func record(_ call: CallFacts, in key: SeriesKey, at timestamp: Double, _ now: Double) {
        update(key, at: timestamp, now) { $0.recordCall(call) }
    }

    /// Remembers a start until its end (a repeated id replaces the earlier start).
    private func open(_ id: String, _ call: OpenCall, providerCall: Bool) {
        let known = providerCall ? openProviderCalls[id] != nil : openRequests[id] != nil
        if !known, openRequests.count + openProviderCalls.count >= configuration.maxOpenRequests {
            status.droppedStarts += 1
            return
        }
        if providerCall { openProviderCalls[id] = call } else { openRequests[id] = call }
    }

    /// An end counts for its endpoint × method, what it lacks taken from its start.
    private func endRequest(_ end: RequestEnd, at timestamp: Double, weight: Double, now: Double) {
        let start = end.requestID.flatMap { openRequests.removeValue(forKey: $0) }
        guard let endpoint = end.endpoint ?? start?.endpoint else {
            status.unmatchedEnds += 1
            return
        }
        var outcome = end.outcome
        if outcome.durationMs == nil, let start { outcome.durationMs = Swift.max(0, (timestamp - start.timestamp) * 1000) }
        record(CallFacts(outcome, weight: weight), in: endpointKey(endpoint: endpoint, method: end.method ?? start?.method), at: timestamp, now)
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
            for key in stale { series[key] = nil }
            status.removedSeries += stale.count
            seriesWereRemovedOrRestored()
        }
        for index in series.indices { series.values[index].windows.roll(now: now, layout: layout) }
        let timeout = configuration.requestTimeout.seconds
        let requestsBefore = openRequests.count, callsBefore = openProviderCalls.count
        openRequests = openRequests.filter { $0.value.receivedAt >= now - timeout }
        openProviderCalls = openProviderCalls.filter { $0.value.receivedAt >= now - timeout }
        status.abandonedRequests += requestsBefore - openRequests.count
        status.abandonedProviderCalls += callsBefore - openProviderCalls.count
    }

    // MARK: Snapshots

    /// The state to persist, taken at once (the tables are copied on write, so this is cheap);
    /// the caller encodes and writes it off the actor.
    public func snapshot() -> StoreSnapshot {
        drain()
        var counters: [String: Double] = [
            "store.removed_series": Double(status.removedSeries),
            "store.abandoned_requests": Double(status.abandonedRequests),
            "store.abandoned_provider_calls": Double(status.abandonedProviderCalls),
            "store.dropped_starts": Double(status.droppedStarts),
            "store.unmatched_ends": Double(status.unmatchedEnds),
        ]
        for (type, count) in appliedCounts { counters["store.applied." + type.rawValue] = Double(count) }
        for (dimension, count) in limiter.folded { counters["store.folded." + dimension.rawValue] = count }
        return StoreSnapshot(savedAt: clock.now(), layout: layout, series: series, openRequests: openRequests,
                             openProviderCalls: openProviderCalls, counters: counters)
    }

    /// Adds a snapshot's state to the store's: series it does not hold are taken whole, those it
    /// holds (events applied before the restore) are merged. Windows are re-cut when the layout
    /// changed (another collection interval or retention) and rolled to now; what is past the
    /// retention goes on the next maintenance.
    public func restore(_ snapshot: StoreSnapshot) {
        let now = clock.now()
        let sameLayout = snapshot.layout == layout
        for (key, restored) in snapshot.series {
            if sameLayout, series[key] == nil {
                var value = restored
                value.windows.roll(now: now, layout: layout)
                series[key] = value
                continue
            }
            var value = series[key] ?? Series(layout: layout, now: restored.firstSeen)
            value.cumulative.merge(restored.cumulative)
            value.firstSeen = Swift.min(value.firstSeen, restored.firstSeen)
            value.lastSeen = Swift.max(value.lastSeen, restored.lastSeen)
            for buckets in restored.windows.tiers.reversed() {
                for bucket in buckets {
                    value.windows.update(at: Double(bucket.start), now: now, layout: layout) { $0.merge(bucket.aggregate) }
                }
            }
            series[key] = value
        }
        openRequests.merge(snapshot.openRequests) { current, _ in current }
        openProviderCalls.merge(snapshot.openProviderCalls) { current, _ in current }
        let counters = snapshot.counters
        status.removedSeries += snapshot.count("store.removed_series")
        status.abandonedRequests += snapshot.count("store.abandoned_requests")
        status.abandonedProviderCalls += snapshot.count("store.abandoned_provider_calls")
        status.droppedStarts += snapshot.count("store.dropped_starts")
        status.unmatchedEnds += snapshot.count("store.unmatched_ends")
        for type in EventType.allCases { appliedByType[type.ordinal] += snapshot.count("store.applied." + type.rawValue) }
        var folded: [CardinalityLimiter.Dimension: Double] = [:]
        for dimension in CardinalityLimiter.Dimension.allCases { folded[dimension] = counters["store.folded." + dimension.rawValue] }
        limiter.addFolded(folded)
        seriesWereRemovedOrRestored()
    }

    /// Rebuilds what is derived from the set of series: the limiter's known values (and the key
    /// memo that relies on them only growing) and the sorted keys.
    private func seriesWereRemovedOrRestored() {
        limiter.rebuild(from: series.keys)
        lastProviderKey = nil
        sortedKeys = [:]
    }

    /// Events applied so far, by type (the types with none left out).
    private var appliedCounts: [EventType: Int] {
        var counts: [EventType: Int] = [:]
        for type in EventType.allCases where appliedByType[type.ordinal] > 0 { counts[type] = appliedByType[type.ordinal] }
        return counts
    }

    // MARK: Reading

    /// Runs several reads in one visit to the actor, so that an answer built from several of them
    /// waits for the store once and sees one consistent state.
    public func read<T: Sendable>(_ body: @Sendable (isolated MetricsStore) -> T) -> T {
        body(self)
    }

    /// Every series of `kind`, aggregated over the last `window` (nil: since each was first seen),
    /// sorted by key.
    public func series(_ kind: SeriesKind, window: TimeSpan? = nil) -> [SeriesView] {
        drain()
        let now = clock.now()
        // Sort the keys, not the views: a view carries a whole aggregate, costly to move around.
        return keys(of: kind).map { key in
            let value = series[key]!
            guard let window else {
                return SeriesView(key: key, aggregate: value.cumulative, firstSeen: value.firstSeen, lastSeen: value.lastSeen,
                                  spanSeconds: Swift.max(0, now - value.firstSeen))
            }
            return SeriesView(key: key, aggregate: value.windows.aggregate(from: now - window.seconds, to: now, layout: layout),
                              firstSeen: value.firstSeen, lastSeen: value.lastSeen, spanSeconds: window.seconds)
        }
    }

    private func keys(of kind: SeriesKind) -> [SeriesKey] {
        if let keys = sortedKeys[kind] { return keys }
        let keys = series.keys.filter { $0.kind == kind }.sorted()
        sortedKeys[kind] = keys
        return keys
    }

    /// Every series of `kind` aggregated over the range from `olderThan + length` ago to
    /// `olderThan` ago (e.g. the hour before the last 5 minutes).
    public func series(_ kind: SeriesKind, length: TimeSpan, endingAgo olderThan: TimeSpan) -> [SeriesView] {
        drain()
        let to = clock.now() - olderThan.seconds
        return keys(of: kind).map { key in
            let value = series[key]!
            return SeriesView(key: key, aggregate: value.windows.aggregate(from: to - length.seconds, to: to, layout: layout),
                              firstSeen: value.firstSeen, lastSeen: value.lastSeen, spanSeconds: length.seconds)
        }
    }

    /// Events applied per second over the last minute (by arrival).
    public func eventsPerSecondLastMinute() -> Double {
        drain()
        return arrivals.perSecond(now: clock.now())
    }

    /// Requests and provider calls started and not yet ended: in total and per provider.
    public func inFlight() -> (total: Int, byProvider: [String: Int]) {
        drain()
        var byProvider: [String: Int] = [:]
        for call in openRequests.values { if let provider = call.provider { byProvider[provider, default: 0] += 1 } }
        for call in openProviderCalls.values { if let provider = call.provider { byProvider[provider, default: 0] += 1 } }
        return (openRequests.count + openProviderCalls.count, byProvider)
    }

    /// The most recent raw events, oldest first: at most `limit`, none older than `since`.
    public func recentEvents(since: Double? = nil, limit: Int) -> [Event] {
        drain()
        return recent.newest(limit: limit, since: since)
    }

    public func currentStatus() -> StoreStatus {
        drain()
        var result = status
        var bytes = 0
        for (key, value) in series {
            result.seriesByKind[key.kind, default: 0] += 1
            bytes += MemoryLayout<SeriesKey>.stride + MemoryLayout<Series>.stride + 16
                + key.first.utf8.count + key.second.utf8.count + value.cumulative.heapBytes + value.windows.heapBytes
        }
        result.appliedByType = appliedCounts
        result.rawEvents = recent.count
        result.bytesEstimate = bytes + recent.held * MemoryLayout<Event>.stride
        result.foldedByDimension = Dictionary(uniqueKeysWithValues: limiter.folded.map { ($0.key.rawValue, $0.value) })
        result.openRequests = openRequests.count
        result.openProviderCalls = openProviderCalls.count
        return result
    }
}

extension Series {
    mutating func record(at timestamp: Double, now: Double, layout: WindowLayout, _ body: (inout Aggregate) -> Void) {
        body(&cumulative)
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
            case .metric: _ = fresh.admit(key.first, .metric)
            case .failover:
                _ = fresh.admit(key.first, .provider)
                _ = fresh.admit(key.second, .provider)
            case .errors: break
            }
        }
        self = fresh
    }
}
