@testable import PerfMonitor
import Testing
import TestSupport

/// StatsD lines as statsd_exporter and the DogStatsD clients write them, read without a socket:
/// what each form becomes, and what each bad form is counted as.
@Suite struct StatsDLineTests {
    func parse(_ text: String) throws(StatsDLineError) -> StatsDParsed {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { buffer throws(StatsDLineError) in try StatsDLine.parse(UnsafeBufferPointer(buffer)) }
    }

    func line(_ text: String) throws -> StatsDLine {
        guard case let .metric(line) = try parse(text) else { throw StatsDLineError(.badLine, "not a metric") }
        return line
    }

    func outcome(_ text: String) -> StatsDOutcome? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.outcome
        }
    }

    @Test func everyTypeAndField() throws {
        let timer = try line("api.latency:812.5|ms|@0.1|#env:prod,region:eu-west-1|T1796150000")
        #expect(timer.name == "api.latency" && timer.type == .timer && timer.values == [.number(812.5)])
        #expect(timer.sampleRate.value == 0.1 && timer.timestamp == 1_796_150_000)
        #expect(timer.tags == [.init(key: "env", value: "prod"), .init(key: "region", value: "eu-west-1")])
        #expect(try line("hits:3|c").values == [.number(3)])
        #expect(try line("temp:-4|g").values == [.change(-4)], "a signed gauge is a change")
        #expect(try line("temp:+4|g").values == [.change(4)])
        #expect(try line("temp:4|g").values == [.number(4)])
        #expect(try line("users:alice|s").values == [.member("alice")])
        #expect(try line("size:1:2:3.5|h").values == [.number(1), .number(2), .number(3.5)], "multi-values")
        #expect(try line("size:1e3|d").values == [.number(1000)])
        #expect(try line("x:1|c|c:container-id|e:ext").values == [.number(1)], "unknown fields are ignored")
        #expect(try line("x:1|c\r").name == "x")
    }

    @Test func tagsInEachStyle() throws {
        let expected: [StatsDLine.Tag] = [.init(key: "a", value: "1"), .init(key: "b", value: "2")]
        for text in ["m:1|c|#a:1,b:2", "m,a=1,b=2:1|c", "m#a=1,b=2:1|c", "m[a=1,b=2]:1|c"] {
            let parsed = try line(text)
            #expect(parsed.name == "m" && parsed.tags == expected, "\(text)")
        }
        #expect(try line("m.[a=1]suffix:1|c").name == "m.suffix", "SignalFX tags inside the name")
        let keys = try line("m:1|c|#service.name:x,9lives:y,host:a:b")
        #expect(keys.tags.map(\.key) == ["service_name", "_9lives", "host"] && keys.tags[2].value == "a:b")
    }

    @Test func tagsWithoutValueOrPastTheEighthAreDroppedAndTheLineKept() throws {
        let parsed = try line("m:1|c|#flag,ok:1,:empty,k:")
        #expect(parsed.tags == [.init(key: "ok", value: "1")])
        #expect(parsed.droppedTags.withoutValue == 3)
        let many = try line("m:1|c|#" + (0..<10).map { "t\($0):v" }.joined(separator: ","))
        #expect(many.tags.map(\.key) == ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"] && many.droppedTags.pastLimit == 2)
    }

    @Test(arguments: [
        ("nocolon", StatsDOutcome.badLine), (":1|c", .badLine), ("m:1", .badLine), ("m:1|x", .badLine), ("m[a=1:1|c", .badLine),
        ("m:abc|c", .badValue), ("m:|c", .badValue), ("m:-1|c", .badValue), ("m:1:x|ms", .badValue), ("m:nan|g", .badValue),
        ("m:1|c|@0", .badSampleRate), ("m:1|c|@1.5", .badSampleRate), ("m:1|c|@x", .badSampleRate),
        ("m:1|c|Tsoon", .badTimestamp),
        ("m:1|c|#le:1", .badLabel), ("m:1|c|#__name__:x", .badLabel), ("m:1|c|#instance:x", .badLabel),
        ("m:1|c|#k:" + String(repeating: "v", count: 129), .badLabel),
    ])
    func badLinesAreCountedByWhatIsWrong(text: String, expected: StatsDOutcome) {
        #expect(outcome(text) == expected, "\(text)")
    }

    @Test func outcomesCountInTheirOwnPlaces() {
        #expect(StatsDOutcome.allCases.enumerated().allSatisfy { $0.offset == $0.element.ordinal }, "ordinal follows allCases")
    }

    @Test func eventsAndServiceChecksAreRecognised() throws {
        #expect(try parse("_e{5,4}:title|text|#a:b") == .eventOrCheck)
        #expect(try parse("_sc|my.check|0|#a:b") == .eventOrCheck)
    }
}

@Suite struct StatsDReaderTests {
    let now = 1_796_150_000.0

    func read(_ text: String, mapping: StatsDMapping = .none, catalog: MetricCatalog? = nil) -> (events: [Event], tally: StatsDTally) {
        var reader = StatsDReader(mapping: mapping, catalog: catalog, maxAgeSeconds: 86_400)
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { reader.read(UnsafeBufferPointer($0), at: now) }
        return reader.take()
    }

    /// What the store holds after the reader's events: by kind, name and label key.
    func stored(_ events: [Event]) async -> [String: Aggregate] {
        let store = MetricsStore(clock: ManualClock(now))
        await store.ingest(events)
        var found: [String: Aggregate] = [:]
        for kind in [SeriesKind.counter, .gauge, .histogram, .set] {
            for view in await store.series(kind) { found["\(kind) \(view.key.first) \(view.key.second)"] = view.aggregate }
        }
        return found
    }

    @Test func linesBecomeCustomMetricsWithTheirKindsAndRates() async {
        let (events, tally) = read("req:2|c|@0.5|#route:chat\nreq:3|c|#route:chat\nlat:812|ms\nlat:400|ms|@0.25\nsize:3|h\n"
            + "temp:20|g|@0.5\ntemp:-5|g\ntemp:+1|g\nusers:bob|s\nusers:ann|s|@0.1\nusers:bob|s\n\n_e{1,1}:a|b\n")
        #expect(tally[.accepted] == 11 && tally[.eventOrCheck] == 1 && tally.total == 12)
        #expect(events.allSatisfy { event in
            guard case let .metric(sample) = event.kind else { return false }
            return sample.source == .statsd && event.timestamp == now
        })
        let series = await stored(events)
        let requests = series[#"counter req route="chat""#]
        #expect(requests?.total == 3 && requests?.valueSum == 7, "2 at a rate of 0.5 counts twice (4), then 3")
        let latency = series["histogram lat "]
        #expect(latency?.total == 5 && latency?.distribution.sum == 812 + 1600, "the rate weights observations")
        #expect(series["histogram size "]?.distribution.count == 1)
        #expect(series["gauge temp "]?.lastValue == 16, "20, then -5 and +1 in order; the rate never weights a gauge")
        #expect(series["set users "]?.distinct.count == 2 && series["set users "]?.total == 3)
        var units: [String: String] = [:]
        for event in events {
            if case let .metric(sample) = event.kind { units[sample.name] = sample.unit ?? "none" }
        }
        #expect(units["lat"] == "ms" && units["size"] == "none", "a timer is in milliseconds, a histogram has no unit")
    }

    @Test func aBatchHoldsOneEventPerSeriesShape() {
        let lines = (0..<500).map { "hits:1|c|#route:r\($0 % 5)" }.joined(separator: "\n")
        let (events, tally) = read(lines)
        #expect(tally[.accepted] == 500 && events.count == 5, "500 lines, five series: five events")
    }

    @Test func namesBecomeCustomMetricNames() {
        #expect(MetricNaming.metricName("api.v1-latency") == "api.v1-latency")
        #expect(MetricNaming.metricName("9lives/s") == "_9lives_s")
        #expect(MetricNaming.metricName("héllo") == "h__llo")
    }

    @Test func aStampedLineKeepsItsTimeUnlessOlderThanTheRetention() {
        #expect(read("m:1|c|T\(Int(now) - 60)").events.first?.timestamp == now - 60)
        #expect(read("m:1|c|T\(Int(now) - 90_000)").tally[.badTimestamp] == 1)
    }

    @Test func aRefusedNameIsCountedAndNothingElseChanges() {
        let catalog = MetricCatalog(maxNames: 1)
        _ = catalog.register(MetricSample(name: "first", .counter(increment: 1)))
        let (events, tally) = read("second:1|c\nfirst:2|c", catalog: catalog)
        #expect(tally[.refusedName] == 1 && tally[.accepted] == 1 && events.count == 1)
    }

    let llm = StatsDMapping(rules: [
        .init(glob: Glob("llm.*.*.latency")!, target: .provider(.durationMs), labels: [("provider", "$1"), ("model", "$2")]),
        .init(glob: Glob("llm.latency")!, target: .provider(.durationMs)),
        .init(glob: Glob("llm.*.*.errors")!, target: .provider(.error), labels: [("provider", "$1"), ("model", "$2")]),
        .init(glob: Glob("llm.tokens.*")!, target: .provider(.tokensInput)),
        .init(glob: Glob("llm.cost")!, target: .provider(.costUSD)),
        .init(glob: Glob("app.*.requests")!, target: .metric(name: "app_requests"), labels: [("route", "$1")]),
    ])

    @Test func mappingsRouteLinesIntoTheProviderStats() {
        let (events, tally) = read("""
            llm.openai.gpt-4o.latency:812|ms
            llm.latency:400|ms|#provider:anthropic,model:claude
            llm.openai.gpt-4o.errors:2|c|#error_type:timeout
            llm.tokens.in:523|c|@0.5|#provider:openai,model:gpt-4o
            llm.cost:0.25|c|#model:x
            app.chat.requests:1|c|#env:prod
            """, mapping: llm)
        #expect(tally[.mapped] == 5 && tally[.missingProvider] == 1)
        #expect(events[0].kind == .providerCall(ProviderCall(provider: "openai", model: "gpt-4o", outcome: CallOutcome(success: true, durationMs: 812))))
        #expect(events[1].kind == .providerCall(ProviderCall(provider: "anthropic", model: "claude", outcome: CallOutcome(success: true, durationMs: 400))))
        let failed = Event(.providerCall(ProviderCall(provider: "openai", model: "gpt-4o", outcome: CallOutcome(success: false, errorType: "timeout"))), at: now)
        #expect(Array(events[2...3]) == [failed, failed])
        #expect(events[4].kind == .providerUsage(ProviderUsage(provider: "openai", model: "gpt-4o", inputTokens: 523)!) && events[4].weight == 2)
        guard case let .metric(sample) = events[5].kind else { Issue.record("not a metric"); return }
        #expect(sample.name == "app_requests" && sample.labels == MetricLabels([("env", "prod"), ("route", "chat")]))
    }

    @Test func globsCaptureWithinOnePart() {
        #expect(Glob("a.*.c")?.match("a.b.c") == ["b"])
        #expect(Glob("a.*.c")?.match("a.b.x.c") == nil, "* never crosses a dot")
        #expect(Glob("client_*.*")?.match("client_web.requests") == ["web", "requests"])
        #expect(Glob("a.*x*.c")?.match("a.1x2x3.c") == ["1", "2x3"])
        #expect(Glob("a.*")?.match("a.") == nil, "* is at least one character")
        #expect(Glob("") == nil && Glob("a..b") == nil)
        #expect(StatsDMapping.expand("$1_${2}_$3$", ["x", "y"]) == "x_y_$")
    }
}

/// A set's distinct members: exact to 10,000, then the estimate, within its 0.81 % standard error.
@Suite struct DistinctMembersTests {
    @Test func exactThenEstimatedWithinTwoPercent() {
        var members = DistinctMembers()
        for index in 0..<10_000 { members.insert("user-\(index)") }
        for index in 0..<10_000 { members.insert("user-\(index)") }
        #expect(members.count == 10_000 && !members.isEstimated)
        for count in [10_001, 50_000, 200_000] {
            var set = DistinctMembers()
            for index in 0..<count { set.insert("user-\(index)") }
            #expect(set.isEstimated)
            #expect(abs(Double(set.count) / Double(count) - 1) < 0.02, "\(count): \(set.count)")
        }
    }

    /// An estimate is kept across a restart as its registers (snapshot format 4), and goes on
    /// counting the same members as the same.
    @Test func anEstimateSurvivesASnapshot() async throws {
        let clock = ManualClock()
        let store = MetricsStore(clock: clock)
        let members = (0..<12_000).map { Event(.metric(MetricSample(name: "visitors", .set(member: "v\($0)"))), at: clock.now()) }
        await store.ingest(members)
        let before = try #require(await store.series(.set).first?.aggregate.distinct)
        #expect(before.isEstimated)
        let restored = MetricsStore(clock: clock)
        await restored.restore(try StoreSnapshot.decode(await store.snapshot().encoded()))
        #expect(await restored.series(.set).first?.aggregate.distinct == before)
        await restored.ingest(Array(members.prefix(100)))
        #expect(await restored.series(.set).first?.aggregate.distinct.count == before.count, "the same members again add nothing")
    }

    @Test func mergesAsTheUnion() {
        var first = DistinctMembers(), second = DistinctMembers()
        for index in 0..<8000 { first.insert("m\(index)") }
        for index in 4000..<12_000 { second.insert("m\(index)") }
        var union = first
        union.merge(second)
        #expect(union.isEstimated && abs(Double(union.count) / 12_000 - 1) < 0.02, "\(union.count)")
        var small = DistinctMembers()
        small.insert("a")
        small.merge(first)
        #expect(small.count == 8001 && !small.isEstimated)
    }
}
