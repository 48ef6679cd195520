import PerfMonitor
import Testing
import TestSupport

@Suite struct WindowTests {
    @Test func layoutForTheDefaults() {
        let layout = WindowLayout(collectionIntervalSeconds: 5, retentionSeconds: 86_400)
        #expect(layout.tiers.map(\.width) == [5, 60, 600])
        #expect(layout.tiers.map(\.span) == [300, 3600, 86_400])
        #expect(layout.maximumBuckets == 60 + 2 + 55 + 2 + 138 + 2)
        #expect(layout.precision(forWindowSeconds: 60) == 5)
        #expect(layout.precision(forWindowSeconds: 3600) == 60)
        #expect(layout.precision(forWindowSeconds: 86_400) == 600)
        let short = WindowLayout(collectionIntervalSeconds: 5, retentionSeconds: 600)
        #expect(short.tiers.map(\.span) == [300, 600])
    }

    @Test func windowsCountWhatFellInsideThem() async {
        let clock = ManualClock()
        let store = MetricsStore(clock: clock)
        let start = clock.now()
        // One call every 30 s for 3 hours, durations 1…360 ms.
        for step in 0..<360 {
            await store.ingest([providerCall(at: clock.now(), ms: Double(step + 1))])
            clock.advance(by: 30)
            if step % 10 == 0 { await store.maintain() }
        }
        await store.maintain()
        #expect(clock.now() == start + 10_800)
        func total(_ window: TimeSpan?) async -> Double { await store.series(.provider, window: window).first?.aggregate.total ?? -1 }
        #expect(await total(.seconds(60)) == 2)
        #expect(await total(.seconds(300)) == 10)
        #expect(await total(.seconds(3600)) == 120)
        // 2 h with 10-minute buckets at the old edge: within one bucket (20 calls) of 240.
        let twoHours = await total(.seconds(7200))
        #expect((240...260).contains(twoHours))
        #expect(await total(.seconds(86_400)) == 360)
        #expect(await total(nil) == 360)
        let lastHour = await store.series(.provider, window: .seconds(3600)).first!.aggregate.distribution
        #expect(lastHour.min == 241 && lastHour.max == 360)
        #expect(abs(lastHour.quantile(0.5) - 300) / 300 <= 0.01)
    }

    @Test func windowAnswerDoesNotDependOnWhenMaintenanceRan() async {
        let clock = ManualClock()
        let rolled = MetricsStore(clock: clock), unrolled = MetricsStore(clock: clock)
        for _ in 0..<100 {
            let call = providerCall(at: clock.now(), ms: 50)
            await rolled.ingest([call])
            await unrolled.ingest([call])
            clock.advance(by: 7)
            await rolled.maintain()
        }
        for window in [60, 300, 600] {
            let a = await rolled.series(.provider, window: .seconds(Int64(window))).first!.aggregate.total
            let b = await unrolled.series(.provider, window: .seconds(Int64(window))).first!.aggregate.total
            // Rolled buckets are coarser (1 min) at the old edge: one such bucket holds at most 9 calls here.
            #expect(abs(a - b) <= 9, "window \(window): \(a) vs \(b)")
        }
    }

    @Test func oldBucketsArePrunedOnTheTimerNotOnQueries() async {
        let clock = ManualClock()
        var configuration = StoreConfiguration()
        configuration.retention = .seconds(600)
        let store = MetricsStore(configuration: configuration, clock: clock)
        await store.ingest([providerCall(at: clock.now())])
        clock.advance(by: 400)
        await store.ingest([providerCall("anthropic", "claude", at: clock.now())])
        clock.advance(by: 300)
        // 700 s after the first call: past the retention, but nothing has pruned yet.
        #expect(await store.series(.provider).count == 2)
        await store.maintain()
        let left = await store.series(.provider)
        #expect(left.map(\.key.first) == ["anthropic"])
        #expect(await store.currentStatus().removedSeries == 1)
        clock.advance(by: 301)
        await store.maintain()
        #expect(await store.series(.provider).isEmpty)
    }
}
