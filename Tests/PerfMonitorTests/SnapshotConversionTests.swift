import Foundation
@testable import PerfMonitor
import Testing
import TestSupport

/// A snapshot written before the sketch took the native histogram layout (format 5, recorded at
/// 86fa2ad with `PERFMOND_RECORD_GOLDEN=1`) is read and converted: counts and sums exactly, each
/// old bucket moved whole into the new bucket holding its middle, so the percentiles stay within
/// the old 1 % plus the new layout's half bucket of the exact values.
@Suite struct SnapshotConversionTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/snapshot-v5.bin")

    /// 2,000 log-normal calls of one pair (median 1.2 s) and 500 weighted ones of another, from one seed.
    static func values() -> [(model: String, ms: Double, rate: Double)] {
        var random = SeededRandom(seed: 5)
        return (0..<2_500).map { index in
            let ms = ((1200 * exp(random.normal() * 0.7)) * 1000).rounded() / 1000
            return index < 2_000 ? ("fast", ms, 1) : ("weighted", ms * 3, 0.25)
        }
    }

    static func exact(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }

    @Test func aFormatFiveSnapshotIsReadAndConverted() async throws {
        let clock = ManualClock()
        if ProcessInfo.processInfo.environment["PERFMOND_RECORD_GOLDEN"] == "1", !FileManager.default.fileExists(atPath: Self.fixture.path) {
            let store = MetricsStore(clock: clock)
            await store.ingest(Self.values().map { value in
                providerCall("openai", value.model, at: clock.now(), ms: value.ms) { $0.sampleRate = value.rate }
            })
            try Data(await store.snapshot().encoded()).write(to: Self.fixture)
        }
        let bytes = Array(try Data(contentsOf: Self.fixture))
        #expect(bytes[8] == 5, "the fixture is a format 5 file")
        let snapshot = try StoreSnapshot.decode(bytes)
        let store = MetricsStore(clock: ManualClock(snapshot.savedAt))
        await store.restore(snapshot)
        let views = await store.series(.provider)
        #expect(views.map(\.key.second) == ["fast", "weighted"])
        for (view, model) in zip(views, ["fast", "weighted"]) {
            let values = Self.values().filter { $0.model == model }
            let distribution = view.aggregate.distribution
            #expect(distribution.count == values.reduce(0) { $0 + 1 / $1.rate })
            #expect(abs(distribution.sum - values.reduce(0) { $0 + $1.ms / $1.rate }) < 1e-6 * distribution.sum)
            for q in [0.5, 0.95, 0.99] {
                let exact = Self.exact(values.map(\.ms), q), estimate = distribution.quantile(q)
                #expect(abs(estimate - exact) / exact < 0.0155, "\(model) p\(Int(q * 100)): \(estimate) where exact is \(exact)")
            }
        }
    }
}
