import PerfMonitor
import Testing
import TestSupport

/// Every series of the store, with its cumulative aggregate, for exact comparisons.
func allSeries(_ store: MetricsStore) async -> [SeriesKey: Aggregate] {
    var result: [SeriesKey: Aggregate] = [:]
    for kind in SeriesKind.allCases {
        for view in await store.series(kind) { result[view.key] = view.aggregate }
    }
    return result
}

@Suite struct StoreTests {
    let clock = ManualClock()

    @Test func providerRequestFeedsOnlyItsProviderModelSeries() async {
        let store = MetricsStore(clock: clock)
        let t = clock.now()
        await store.ingest([
            providerCall(at: t, ms: 800) { $0.ttftMs = 120; $0.statusCode = 200; $0.costUSD = 0.01; $0.inputTokens = 1000; $0.outputTokens = 200 },
            providerCall(at: t, ms: 1200) { $0.ttftMs = 180; $0.statusCode = 429; $0.errorType = "rate_limit"; $0.success = false },
        ])
        let series = await allSeries(store)
        #expect(Array(series.keys) == [SeriesKey(.provider, "openai", "gpt-4o")])
        let aggregate = series[SeriesKey(.provider, "openai", "gpt-4o")]!
        #expect(aggregate.total == 2)
        #expect(aggregate.successes == 1)
        #expect(aggregate.failures == 1)
        #expect(aggregate.statusCodes == [200: 1, 429: 1])
        #expect(aggregate.errorTypes == ["rate_limit": 1])
        #expect(aggregate.costUSD == 0.01)
        #expect(aggregate.inputTokens == 1000)
        #expect(aggregate.outputTokens == 200)
        #expect(aggregate.distribution.min == 800 && aggregate.distribution.max == 1200)
        #expect(aggregate.ttft.mean == 150)
        #expect(aggregate.rateLimitHits == 0, "a 429 call is not a rate_limit_hit event")
    }

    @Test func missingModelIsUnknown() async {
        let store = MetricsStore(clock: clock)
        await store.ingest([event(.providerRequest, at: clock.now()) { $0.provider = "openai" }])
        #expect(await store.series(.provider).map(\.key) == [SeriesKey(.provider, "openai", "unknown")])
    }

    @Test func sampleRateWeighsCountsAndSums() async {
        let store = MetricsStore(clock: clock)
        await store.ingest([providerCall(at: clock.now(), ms: 100) { $0.sampleRate = 0.1; $0.costUSD = 0.5; $0.inputTokens = 10 }])
        let aggregate = await store.series(.provider).first!.aggregate
        #expect(aggregate.total == 10)
        #expect(aggregate.costUSD == 5)
        #expect(aggregate.inputTokens == 100)
        #expect(aggregate.distribution.count == 10)
    }

    @Test func requestStartAndEndPairByID() async {
        let store = MetricsStore(clock: clock)
        let t = clock.now()
        await store.ingest([
            event(.requestStart, at: t - 2) { $0.requestID = "r1"; $0.endpoint = "/anthropic"; $0.method = "POST"; $0.provider = "anthropic" },
            event(.requestStart, at: t - 1) { $0.requestID = "r2"; $0.endpoint = "/openai"; $0.method = "POST" },
        ])
        #expect(await store.inFlight().total == 2)
        #expect(await store.inFlight().byProvider == ["anthropic": 1])
        await store.ingest([event(.requestEnd, at: t - 0.5) { $0.requestID = "r1"; $0.statusCode = 200 }])
        #expect(await store.inFlight().total == 1)
        let series = await allSeries(store)
        let endpoint = series[SeriesKey(.endpoint, "/anthropic", "POST")]
        #expect(endpoint?.total == 1)
        #expect(endpoint?.statusCodes == [200: 1])
        #expect(endpoint?.distribution.max == 1500, "duration derived from the pair: 1.5 s")
        #expect(series.count == 1)
    }

    @Test func endWithoutStartCountsWhenItNamesItsEndpoint() async {
        let store = MetricsStore(clock: clock)
        await store.ingest([
            event(.requestEnd, at: clock.now()) { $0.requestID = "unknown"; $0.endpoint = "/x"; $0.durationMs = 40 },
            event(.requestEnd, at: clock.now()) { $0.requestID = "nothing" },
        ])
        #expect(await store.series(.endpoint).map(\.key) == [SeriesKey(.endpoint, "/x", "UNKNOWN")])
        #expect(await store.currentStatus().unmatchedEnds == 1)
    }

    @Test func startsWithoutEndAreAbandonedAfterTheTimeout() async {
        var configuration = StoreConfiguration()
        configuration.requestTimeout = .seconds(600)
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest([
            event(.requestStart, at: clock.now()) { $0.requestID = "a"; $0.endpoint = "/x" },
            event(.providerStart, at: clock.now()) { $0.requestID = "p"; $0.provider = "openai" },
        ])
        clock.advance(by: 599)
        await store.maintain()
        #expect(await store.inFlight().total == 2)
        clock.advance(by: 2)
        await store.maintain()
        #expect(await store.inFlight().total == 0)
        let status = await store.currentStatus()
        #expect(status.abandonedRequests == 1)
        #expect(status.abandonedProviderCalls == 1)
        await store.ingest([event(.requestEnd, at: clock.now()) { $0.requestID = "a" }])
        #expect(await store.currentStatus().unmatchedEnds == 1, "an end after abandonment has nothing to pair with")
    }

    @Test func providerStartEndsWithItsProviderRequest() async {
        let store = MetricsStore(clock: clock)
        await store.ingest([event(.providerStart, at: clock.now()) { $0.requestID = "c1"; $0.provider = "cerebras" }])
        #expect(await store.inFlight().byProvider == ["cerebras": 1])
        await store.ingest([providerCall("cerebras", "llama3.1-70b", at: clock.now()) { $0.requestID = "c1" }])
        #expect(await store.inFlight().total == 0)
        #expect(await store.series(.provider).first?.aggregate.total == 1)
    }

    @Test func openStartsAreBoundedAndDropsCounted() async {
        var configuration = StoreConfiguration()
        configuration.maxOpenRequests = 3
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest((0..<5).map { index in event(.requestStart, at: clock.now()) { $0.requestID = "r\(index)" } })
        #expect(await store.inFlight().total == 3)
        #expect(await store.currentStatus().droppedStarts == 2)
    }

    @Test func everyOtherEventTypeUpdatesWhatTheTableSays() async {
        let store = MetricsStore(clock: clock)
        let t = clock.now()
        await store.ingest([
            event(.request, at: t) { $0.endpoint = "/v1/chat"; $0.method = "POST"; $0.statusCode = 500; $0.durationMs = 30; $0.requestBytes = 100; $0.responseBytes = 900; $0.success = false },
            event(.operation, at: t) { $0.component = "router"; $0.operation = "parse"; $0.durationMs = 2 },
            event(.operation, at: t) { $0.component = "router"; $0.durationMs = 3; $0.success = false; $0.errorType = "bad_input" },
            event(.cacheHit, at: t) { $0.component = "prompt_cache" },
            event(.cacheHit, at: t) { $0.component = "prompt_cache" },
            event(.cacheMiss, at: t) { $0.component = "prompt_cache" },
            event(.cacheMiss, at: t) { $0.provider = "openai" },
            event(.error, at: t) { $0.provider = "openai"; $0.model = "gpt-4o"; $0.errorType = "overloaded" },
            event(.timeout, at: t) { $0.component = "router"; $0.operation = "parse" },
            event(.error, at: t) { $0.errorMessage = "disk full" },
            event(.rateLimitHit, at: t) { $0.provider = "openai"; $0.model = "gpt-4o" },
            event(.failover, at: t) { $0.provider = "openai"; $0.metadata = ["to_provider": "anthropic"] },
            event(.metric, at: t) { $0.metric = "queue_depth"; $0.value = 7 },
            event(.metric, at: t + 1) { $0.metric = "queue_depth"; $0.value = 3 },
        ])
        let series = await allSeries(store)
        let endpoint = series[SeriesKey(.endpoint, "/v1/chat", "POST")]!
        #expect(endpoint.total == 1 && endpoint.failures == 1 && endpoint.statusCodes == [500: 1])
        #expect(endpoint.requestBytes == 100 && endpoint.responseBytes == 900)
        let parse = series[SeriesKey(.component, "router", "parse")]!
        #expect(parse.total == 1 && parse.successes == 1 && parse.errorTypes == ["timeout": 1])
        let defaultOperation = series[SeriesKey(.component, "router", "default")]!
        #expect(defaultOperation.total == 1 && defaultOperation.failures == 1 && defaultOperation.errorTypes == ["bad_input": 1])
        #expect(series[SeriesKey(.cache, "prompt_cache")]?.cacheHits == 2)
        #expect(series[SeriesKey(.cache, "prompt_cache")]?.cacheMisses == 1)
        #expect(series[SeriesKey(.cache, "openai")]?.cacheMisses == 1)
        let provider = series[SeriesKey(.provider, "openai", "gpt-4o")]!
        #expect(provider.total == 0, "errors and rate limits are not calls")
        #expect(provider.errorTypes == ["overloaded": 1])
        #expect(provider.rateLimitHits == 1)
        #expect(series[SeriesKey(.errors, "global")]?.errorTypes == ["unknown": 1])
        #expect(series[SeriesKey(.failover, "openai", "anthropic")]?.total == 1)
        let metric = series[SeriesKey(.metric, "queue_depth")]!
        #expect(metric.total == 2 && metric.lastValue == 3 && metric.distribution.min == 3 && metric.distribution.max == 7)
        #expect(series.count == 9)
        let status = await store.currentStatus()
        #expect(status.appliedByType[.metric] == 2)
        #expect(status.rawEvents == 14)
    }

    @Test func cardinalityLimitsFoldIntoOtherAndCount() async {
        var configuration = StoreConfiguration()
        configuration.limits.providers = 2
        configuration.limits.modelsPerProvider = 3
        let store = MetricsStore(configuration: configuration, clock: clock)
        var events: [Event] = []
        for index in 0..<10 { events.append(providerCall("openai", "model-\(index)", at: clock.now())) }
        events.append(providerCall("anthropic", "claude", at: clock.now()))
        events.append(providerCall("mistral", "large", at: clock.now()))
        events.append(providerCall("cohere", "command", at: clock.now()))
        await store.ingest(events)
        let keys = await store.series(.provider).map(\.key)
        #expect(keys == [
            SeriesKey(.provider, "__other__", "command"),
            SeriesKey(.provider, "__other__", "large"),
            SeriesKey(.provider, "anthropic", "claude"),
            SeriesKey(.provider, "openai", "__other__"), SeriesKey(.provider, "openai", "model-0"),
            SeriesKey(.provider, "openai", "model-1"), SeriesKey(.provider, "openai", "model-2"),
        ].sorted())
        let totals = await store.series(.provider).reduce(0) { $0 + $1.aggregate.total }
        #expect(totals == 13, "folded events are still counted")
        let folded = await store.currentStatus().foldedByDimension
        #expect(folded == ["model": 7, "provider": 2])
    }

    @Test func repeatedFoldedLabelsAreEachCounted() async {
        var configuration = StoreConfiguration()
        configuration.limits.modelsPerProvider = 1
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest(["x", "y", "y", "y", "x"].map { providerCall("openai", $0, at: clock.now()) })
        #expect(await store.currentStatus().foldedByDimension == ["model": 3])
        #expect(await store.series(.provider).map(\.aggregate.total) == [3, 2])
    }

    /// A store with room for one provider, whose only series (openai / a) was just pruned.
    func storeAfterTheOnlyProviderWasPruned() async -> MetricsStore {
        var configuration = StoreConfiguration()
        configuration.limits.providers = 1
        configuration.retention = .seconds(300)
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest([providerCall("openai", "a", at: clock.now())])
        clock.advance(by: 301)
        await store.maintain()
        return store
    }

    @Test func aPrunedLabelIsAdmittedAgainBeforeOthers() async {
        let store = await storeAfterTheOnlyProviderWasPruned()
        // Arriving first again, openai takes the one place back.
        await store.ingest([providerCall("openai", "a", at: clock.now()), providerCall("anthropic", "b", at: clock.now())])
        #expect(await store.series(.provider).map(\.key) == [SeriesKey(.provider, "__other__", "b"), SeriesKey(.provider, "openai", "a")])
        #expect(await store.currentStatus().foldedByDimension == ["provider": 1])
    }

    @Test func eventTypeOrdinalsAreTheirPlaceInAllCases() {
        #expect(EventType.allCases.map(\.ordinal) == Array(0..<EventType.allCases.count))
    }

    @Test func prunedValuesFreeTheirPlace() async {
        let store = await storeAfterTheOnlyProviderWasPruned()
        await store.ingest([providerCall("anthropic", "b", at: clock.now())])
        #expect(await store.series(.provider).map(\.key.first) == ["anthropic"])
    }

    @Test func recentEventsRingKeepsTheNewest() async {
        var configuration = StoreConfiguration()
        configuration.recentEventsCapacity = 3
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest((0..<5).map { index in providerCall(at: clock.now() + Double(index), ms: Double(index)) })
        #expect(await store.recentEvents(limit: 10).map(\.kind.outcome?.durationMs) == [2, 3, 4])
        #expect(await store.recentEvents(limit: 2).map(\.kind.outcome?.durationMs) == [3, 4])
        var since = EventFilter()
        since.since = clock.now() + 4
        #expect(await store.recentEvents(matching: since, limit: 10).map(\.kind.outcome?.durationMs) == [4])
    }

    @Test func recentEventsAreTheNewestWhateverTheBatchSizes() async {
        var configuration = StoreConfiguration()
        configuration.recentEventsCapacity = 50
        let store = MetricsStore(configuration: configuration, clock: clock)
        var random = SeededRandom(seed: 4)
        var sent: [Double] = []
        for _ in 0..<300 {
            // Mostly small batches, now and then one larger than the whole ring.
            let size = random.next() % 10 == 0 ? Int(random.next() % 180) : Int(random.next() % 12)
            let batch = (0..<size).map { offset in providerCall(at: clock.now(), ms: Double(sent.count + offset)) }
            sent += batch.map { $0.kind.outcome?.durationMs ?? -1 }
            await store.ingest(batch)
            let newest = await store.recentEvents(limit: 1_000).map { $0.kind.outcome?.durationMs ?? -1 }
            #expect(newest == Array(sent.suffix(50)))
            #expect(await store.recentEvents(limit: 7).map { $0.kind.outcome?.durationMs ?? -1 } == Array(sent.suffix(Swift.min(7, sent.count))))
            #expect(await store.currentStatus().rawEvents == Swift.min(sent.count, 50))
            if newest != Array(sent.suffix(50)) { return }
        }
    }

    @Test func everyQuerySeesSeriesThatCameOrWentSinceTheLast() async {
        var configuration = StoreConfiguration()
        configuration.retention = .seconds(300)
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest([providerCall("openai", "b", at: clock.now())])
        #expect(await store.series(.provider).map(\.key.second) == ["b"])
        await store.ingest([providerCall("openai", "a", at: clock.now()), providerCall("openai", "b", at: clock.now())])
        #expect(await store.series(.provider).map(\.key.second) == ["a", "b"])
        clock.advance(by: 200)
        await store.ingest([providerCall("openai", "c", at: clock.now())])
        #expect(await store.series(.provider).map(\.key.second) == ["a", "b", "c"])
        clock.advance(by: 150)
        await store.maintain()
        #expect(await store.series(.provider).map(\.key.second) == ["c"])
    }

    @Test func queriesDrainTheIngestBufferFirst() async {
        let buffer = IngestBuffer(capacity: 10)
        let store = MetricsStore(clock: clock, buffer: buffer)
        #expect(buffer.append([providerCall(at: clock.now())]) == .accepted)
        #expect(await store.series(.provider).first?.aggregate.total == 1)
        #expect(buffer.depth == 0)
    }

    @Test func bufferTakesWholeBatchesOrNone() {
        let buffer = IngestBuffer(capacity: 3)
        let call = providerCall(at: clock.now())
        #expect(buffer.append([call, call]) == .accepted)
        #expect(buffer.append([call, call]) == .full)
        #expect(buffer.depth == 2)
        #expect(buffer.append([call]) == .accepted)
        buffer.close()
        #expect(buffer.append([call]) == .closed)
        #expect(buffer.takeAll().map(\.count) == [2, 1])
    }

    @Test func memoryPerSeriesIsBounded() async {
        let store = MetricsStore(clock: clock)
        var events: [Event] = []
        for index in 0..<1000 {
            events.append(providerCall("p\(index % 10)", "m\(index)", at: clock.now(), ms: 100) { $0.ttftMs = 20 })
            events.append(providerCall("p\(index % 10)", "m\(index)", at: clock.now(), ms: 300) { $0.ttftMs = 40 })
        }
        var configuration = StoreConfiguration()
        configuration.limits.modelsPerProvider = 1000
        let bounded = MetricsStore(configuration: configuration, clock: clock)
        await bounded.ingest(events)
        let status = await bounded.currentStatus()
        #expect(status.seriesCount == 1000)
        #expect(status.bytesEstimate / status.seriesCount < 4096, "estimate per series: \(status.bytesEstimate / status.seriesCount) bytes")
        _ = store
    }

    /// `bytes_estimate` counts what the kept raw events' strings and the open starts hold.
    @Test func theByteEstimateCountsTheStringsHeld() async {
        let clock = ManualClock()
        let store = MetricsStore(clock: clock)
        let empty = await store.currentStatus().bytesEstimate
        let message = String(repeating: "m", count: 1000)
        await store.ingest((0..<100).map { index in
            event(.error, at: clock.now()) { $0.errorType = "boom"; $0.errorMessage = message }
        } + (0..<100).map { index in
            event(.requestStart, at: clock.now()) { $0.requestID = "request-\(index)-" + String(repeating: "i", count: 200) }
        })
        let grown = await store.currentStatus().bytesEstimate - empty
        #expect(grown >= 100 * 1000 + 100 * 200, "the estimate grew by \(grown) bytes for 100 kB of messages and 20 kB of ids")
    }
}
