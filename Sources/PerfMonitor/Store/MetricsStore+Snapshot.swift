/// Snapshots: the state to persist, and a persisted state added back after a restart.
extension MetricsStore {
    /// Snapshot counters of label sets folded, by custom metric name: this prefix, then the name.
    static let foldedMetricCounter = "store.folded_metric."

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
            "store.dropped_metric_events": Double(status.droppedMetricEvents),
        ]
        for (type, count) in appliedCounts { counters["store.applied." + type.rawValue] = Double(count) }
        for (dimension, count) in limiter.folded { counters["store.folded." + dimension.rawValue] = count }
        for (name, count) in status.foldedByMetric { counters[Self.foldedMetricCounter + name] = count }
        let units = catalog.current.compactMapValues(\.unit)
        return StoreSnapshot(savedAt: clock.now(), layout: layout, series: series, openRequests: openCalls.requests,
                             openProviderCalls: openCalls.providerCalls, counters: counters, metricUnits: units,
                             classicBounds: configuration.classicBounds)
    }

    /// Adds a snapshot's state to the store's: series it does not hold are taken whole, those it
    /// holds (events applied before the restore) are merged. Windows are re-cut when the layout
    /// changed (another collection interval or retention) and rolled to now; what is past the
    /// retention goes on the next maintenance.
    /// Classic counts kept against other bounds (or before they were kept) are folded from the
    /// since-start sketches instead.
    public func restore(_ snapshot: StoreSnapshot) {
        let now = clock.now()
        let sameLayout = snapshot.layout == layout
        let sameBounds = snapshot.classicBounds == configuration.classicBounds
        for (key, var restored) in snapshot.series {
            if !sameBounds {
                let timed = TimeUnit(snapshot.metricUnits[key.first] ?? catalog.current[key.first]?.unit) != nil
                restored.classic = ClassicHistograms(folding: restored.cumulative, kind: key.kind, timed: timed, bounds: classicBounds)
            }
            if sameLayout, series[key] == nil {
                var value = restored
                value.windows.roll(now: now, layout: layout)
                series[key] = value
                continue
            }
            var value = series[key] ?? Series(layout: layout, now: restored.firstSeen)
            value.cumulative.merge(restored.cumulative)
            value.classic.merge(restored.classic)
            value.firstSeen = Swift.min(value.firstSeen, restored.firstSeen)
            value.lastSeen = Swift.max(value.lastSeen, restored.lastSeen)
            for buckets in restored.windows.tiers.reversed() {
                for bucket in buckets {
                    value.windows.update(at: Double(bucket.start), now: now, layout: layout) { $0.merge(bucket.aggregate) }
                }
            }
            series[key] = value
        }
        openCalls.merge(requests: snapshot.openRequests, providerCalls: snapshot.openProviderCalls)
        let counters = snapshot.counters
        status.removedSeries += snapshot.count("store.removed_series")
        status.abandonedRequests += snapshot.count("store.abandoned_requests")
        status.abandonedProviderCalls += snapshot.count("store.abandoned_provider_calls")
        status.droppedStarts += snapshot.count("store.dropped_starts")
        status.unmatchedEnds += snapshot.count("store.unmatched_ends")
        status.droppedMetricEvents += snapshot.count("store.dropped_metric_events")
        for (name, count) in counters where name.hasPrefix(Self.foldedMetricCounter) {
            status.foldedByMetric[String(name.dropFirst(Self.foldedMetricCounter.count)), default: 0] += count
        }
        restoredUnits.merge(snapshot.metricUnits) { current, _ in current }
        for type in EventType.allCases { appliedByType[type.ordinal] += snapshot.count("store.applied." + type.rawValue) }
        var folded: [CardinalityLimiter.Dimension: Double] = [:]
        for dimension in CardinalityLimiter.Dimension.allCases { folded[dimension] = counters["store.folded." + dimension.rawValue] }
        limiter.addFolded(folded)
        seriesWereRemovedOrRestored()
    }
}
