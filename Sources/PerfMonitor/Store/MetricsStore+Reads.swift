/// One series as a query sees it: totals over the window asked for (or since first seen).
public struct SeriesView: Sendable {
    public let key: SeriesKey
    public let aggregate: Aggregate
    public let firstSeen: Double
    public let lastSeen: Double
    /// Seconds the aggregate covers: the window, or the time since the series' first event.
    public let spanSeconds: Double
    /// The since-start values per classic bound (empty for a window).
    public var classic = ClassicHistograms()
}

/// Reads: every query drains the ingest buffer first (read-your-writes), then reads in place.
extension MetricsStore {
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
        return keys(of: kind).compactMap { key in
            guard let value = series[key] else { return nil }
            guard let window else {
                return SeriesView(key: key, aggregate: value.cumulative, firstSeen: value.firstSeen, lastSeen: value.lastSeen,
                                  spanSeconds: Swift.max(0, now - value.firstSeen), classic: value.classic)
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
        return keys(of: kind).compactMap { key in
            guard let value = series[key] else { return nil }
            return SeriesView(key: key, aggregate: value.windows.aggregate(from: to - length.seconds, to: to, layout: layout),
                              firstSeen: value.firstSeen, lastSeen: value.lastSeen, spanSeconds: length.seconds)
        }
    }

    /// The latest remaining rate limits per provider × model series, sorted by key.
    public func rateLimitsRemaining() -> [(key: SeriesKey, remaining: RateLimitRemaining)] {
        drain()
        return rateLimitRemaining.sorted { $0.key < $1.key }.map { (key: $0.key, remaining: $0.value) }
    }

    /// Events applied per second over the last minute (by arrival).
    public func eventsPerSecondLastMinute() -> Double {
        drain()
        return arrivals.perSecond(now: clock.now())
    }

    /// Requests and provider calls started and not yet ended: in total, per provider, per endpoint.
    public func inFlight() -> InFlight {
        drain()
        return openCalls.inFlight
    }

    /// The most recent raw events that match `filter`, oldest first: at most `limit`.
    public func recentEvents(matching filter: EventFilter = EventFilter(), limit: Int) -> [Event] {
        drain()
        return recent.newest(limit: limit, matching: filter)
    }

    /// For a follower (`/performance/events` as Server-Sent Events): the matching events applied
    /// after `cursor`, at most the newest `limit`, the count it missed, and the next cursor. With no
    /// cursor yet: the newest `limit` that match (what the follower shows first).
    public func eventsApplied(after cursor: Int?, matching filter: EventFilter, limit: Int) -> (events: [Event], missed: Int, cursor: Int) {
        drain()
        guard let cursor else { return (recent.newest(limit: limit, matching: filter), 0, recent.appended) }
        let (events, missed) = recent.appended(since: cursor, limit: limit, matching: filter)
        return (events, missed, recent.appended)
    }

    public func currentStatus() -> StoreStatus {
        drain()
        var result = status
        var bytes = 0
        for (key, value) in series {
            result.seriesByKind[key.kind, default: 0] += 1
            bytes += MemoryLayout<SeriesKey>.stride + MemoryLayout<Series>.stride + 16
                + key.first.utf8.count + key.second.utf8.count + value.cumulative.heapBytes + value.classic.heapBytes
                + value.windows.heapBytes
        }
        result.appliedByType = appliedCounts
        result.rawEvents = recent.count
        // What is really held: the kept raw events with their strings, and the open starts'.
        var openBytes = 0
        for table in [openCalls.requests, openCalls.providerCalls] {
            for (id, call) in table {
                openBytes += 64 + Event.held(id) + Event.held(call.endpoint) + Event.held(call.method) + Event.held(call.provider) + Event.held(call.model)
            }
        }
        result.bytesEstimate = bytes + recent.held * MemoryLayout<Event>.stride + recent.stringBytes + openBytes
        result.foldedByDimension = Dictionary(uniqueKeysWithValues: limiter.folded.map { ($0.key.rawValue, $0.value) })
        result.openRequests = openCalls.requests.count
        result.openProviderCalls = openCalls.providerCalls.count
        return result
    }
}
