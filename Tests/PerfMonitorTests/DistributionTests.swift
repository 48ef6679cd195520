import Foundation
import PerfMonitor
import Testing

/// Log-normal durations like LLM latencies: median ≈ e^mu ms.
func logNormal(_ count: Int, mu: Double = 6.5, sigma: Double = 1.0, seed: UInt64) -> [Double] {
    var random = SeededRandom(seed: seed)  // seeded, so that a failure can be replayed
    return (0..<count).map { _ in exp(mu + sigma * random.normal()) }
}

/// The exact nearest-rank quantile: the ⌈q·n⌉-th smallest value.
func nearestRank(_ sorted: [Double], _ q: Double) -> Double {
    sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
}

@Suite struct DistributionTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func percentilesWithinOnePercentOverHundredThousandValues(seed: UInt64) {
        let values = logNormal(100_000, seed: seed)
        var distribution = Distribution()
        for value in values { distribution.record(value) }
        let sorted = values.sorted()
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = nearestRank(sorted, q)
            let estimate = distribution.quantile(q)
            #expect(abs(estimate - exact) / exact <= 0.01, "q=\(q): \(estimate) vs exact \(exact)")
        }
        #expect(distribution.count == 100_000)
        #expect(distribution.min == sorted.first)
        #expect(distribution.max == sorted.last)
        #expect(abs(distribution.sum - values.reduce(0, +)) / distribution.sum < 1e-9)
    }

    @Test func mergedDistributionsEqualOneFedEverything() {
        let values = logNormal(20_000, mu: 3, sigma: 2, seed: 9)
        var whole = Distribution(), left = Distribution(), right = Distribution()
        for (index, value) in values.enumerated() {
            whole.record(value)
            if index % 3 == 0 { left.record(value) } else { right.record(value) }
        }
        left.merge(right)
        for q in [0.5, 0.95, 0.99] { #expect(left.quantile(q) == whole.quantile(q)) }
        #expect(left.count == whole.count)
        #expect(left.min == whole.min && left.max == whole.max)
    }

    @Test func weightsCountAsRepeats() {
        var weighted = Distribution(), repeated = Distribution()
        for value in [10.0, 20, 30, 1000] {
            weighted.record(value, weight: 4)
            for _ in 0..<4 { repeated.record(value) }
        }
        #expect(weighted.count == 16)
        for q in [0.25, 0.5, 0.75, 0.99] { #expect(weighted.quantile(q) == repeated.quantile(q)) }
    }

    @Test func zeroesNegativesAndEdges() {
        var distribution = Distribution()
        #expect(distribution.quantile(0.5) == 0, "empty answers 0, never NaN")
        for value in [-50.0, -5, 0, 0, 5, 50] { distribution.record(value) }
        #expect(distribution.quantile(0) == -50)
        // Nearest rank over six values: q=0.1 → 1st, 0.3 → 2nd, 0.5 → 3rd, 0.9 → 6th.
        #expect(abs(distribution.quantile(0.1) - -50) / 50 <= 0.01)
        #expect(abs(distribution.quantile(0.3) - -5) / 5 <= 0.01)
        #expect(distribution.quantile(0.5) == 0)
        #expect(abs(distribution.quantile(0.9) - 50) / 50 <= 0.01)
        #expect(distribution.quantile(1) == 50)
        #expect(distribution.mean == 0)
        distribution.record(.nan)
        distribution.record(.infinity)
        #expect(distribution.count == 6, "non-finite values are ignored")
    }

    @Test func aSingleValueIsExact() {
        var distribution = Distribution()
        distribution.record(1234.5)
        #expect(distribution.quantile(0.5) == 1234.5)
        #expect(distribution.quantile(0.99) == 1234.5)
    }
}
