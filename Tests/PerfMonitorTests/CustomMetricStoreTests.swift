import Foundation
@testable import PerfMonitor
import Testing
import TestSupport

/// Custom metric series in the store, built from typed events directly.
@Suite struct CustomMetricStoreTests {
    /// A histogram series' percentiles within 1 % over 100,000 log-normal values, in the unit sent.
    @Test func histogramPercentilesWithinOnePercent() async throws {
        let clock = ManualClock()
        let store = MetricsStore(clock: clock)
        var random = SeededRandom(seed: 18)
        let values = (0..<100_000).map { _ in exp(6 + random.normal() * 0.8) }
        let labels = MetricLabels([("route", "chat")])
        for chunk in stride(from: 0, to: values.count, by: 10_000) {
            await store.ingest(values[chunk..<(chunk + 10_000)].map {
                Event(.metric(MetricSample(name: "latency", .histogram($0), unit: "ms", labels: labels)), at: clock.now())
            })
        }
        let series = try #require(await store.series(.histogram).first)
        #expect(series.key == SeriesKey(.histogram, "latency", #"route="chat""#))
        let sorted = values.sorted()
        for q in [0.5, 0.95, 0.99, 0.999] {
            let exact = sorted[Int(q * Double(sorted.count - 1))]
            let measured = series.aggregate.distribution.quantile(q)
            #expect(abs(measured - exact) / exact <= 0.01, "p\(q * 100): \(measured) against \(exact)")
        }
        #expect(series.aggregate.total == 100_000)
    }

    @Test func labelKeysReadBack() {
        let labels = MetricLabels([("b", "x\"y\\z\nw"), ("a", "1")])
        #expect(labels.names == ["a", "b"])
        #expect(labels.key == #"a="1",b="x\"y\\z\nw""#)
        #expect(MetricLabels(key: labels.key) == labels)
        #expect(MetricLabels(key: "") == MetricLabels.none)
        #expect(MetricLabels(key: "broken") == nil)
    }
}

/// A series holds an aggregate per window bucket: what only calls use lives on the heap, so a
/// counter's bucket stays small (issue 18's budget of 1 KiB a counter series).
@Suite struct AggregateSizeTests {
    @Test func anAggregateIsSixtyFourBytesInline() {
        #expect(MemoryLayout<Aggregate>.stride == 64)
    }

    @Test func aCounterKeepsNoCallPartOrDistribution() {
        var aggregate = Aggregate()
        aggregate.recordMetric(.counter(increment: 3), at: 1, weight: 1)
        #expect(aggregate.heapBytes == 0)
        #expect(aggregate.successes == 0 && aggregate.distribution.isEmpty)
        var call = Aggregate()
        call.recordCall(CallFacts(CallOutcome(success: true, statusCode: 200, durationMs: 5), weight: 1))
        #expect(call.heapBytes > 0 && call.successes == 1 && call.statusCodes == [200: 1])
    }
}
