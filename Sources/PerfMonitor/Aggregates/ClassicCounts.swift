/// The classic `le` bounds of each histogram family `/metrics` shows, as configured
/// (`buckets_*` keys): in seconds for durations, in the metric's own unit for other custom
/// histograms. They are part of the public surface — Prometheus sums classic histograms across
/// instances only when every instance uses the same bounds — and the store counts every value
/// against them as it arrives (`ClassicCounts`), so that a change of the sketch's layout never moves
/// a value across a bound.
public struct ClassicBounds: Sendable, Equatable {
    /// LLM calls: tens of milliseconds to minutes.
    public var providerDuration: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
    /// Time to first token.
    public var timeToFirstToken: [Double] = [0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30]
    /// Gateway endpoints (they wrap LLM calls).
    public var endpointDuration: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]
    /// Code components (parsing, routing, caching): sub-millisecond to seconds.
    public var componentDuration: [Double] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]
    /// Custom histograms of a time unit.
    public var customSeconds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Custom histograms of any other unit, in that unit (Prometheus's default buckets).
    public var custom: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init() {}

    /// Every list, in the order a snapshot keeps them.
    public static let lists: [WritableKeyPath<ClassicBounds, [Double]> & Sendable] =
        [\.providerDuration, \.timeToFirstToken, \.endpointDuration, \.componentDuration, \.customSeconds, \.custom]

    /// The bounds in the units the store holds, worked out once (a duration in milliseconds).
    var stored: StoredClassicBounds { StoredClassicBounds(self) }

    /// Seconds to milliseconds, as the exposition multiplies them: the same doubles on both sides.
    public static func milliseconds(_ seconds: [Double]) -> [Double] { seconds.map { $0 * 1000 } }
}

/// `ClassicBounds` in the store's units: durations in milliseconds.
struct StoredClassicBounds: Sendable {
    let provider, timeToFirstToken, endpoint, component, customTimed, custom: [Double]

    init(_ bounds: ClassicBounds) {
        provider = ClassicBounds.milliseconds(bounds.providerDuration)
        timeToFirstToken = ClassicBounds.milliseconds(bounds.timeToFirstToken)
        endpoint = ClassicBounds.milliseconds(bounds.endpointDuration)
        component = ClassicBounds.milliseconds(bounds.componentDuration)
        customTimed = ClassicBounds.milliseconds(bounds.customSeconds)
        custom = bounds.custom
    }

    /// The bounds of a series' main distribution, or nil for a kind `/metrics` shows no histogram of.
    func values(of kind: SeriesKind, timed: Bool) -> [Double]? {
        switch kind {
        case .provider: provider
        case .endpoint: endpoint
        case .component: component
        case .histogram: timed ? customTimed : custom
        default: nil
        }
    }
}

/// A series' values counted per classic bound as they arrive: `counts[i]` is the weight of values
/// in (bounds[i-1], bounds[i]], the last slot what lies above every bound. Exact for every value
/// recorded one by one; a batch already merged into a sketch (StatsD, OTLP buckets) is folded from
/// it (within one bucket of 1.09 %). Kept for the since-start totals only, not per window.
public struct ClassicCounts: Sendable, Equatable {
    public private(set) var counts: [Double] = []

    public init() {}

    mutating func record(_ value: Double, weight: Double, bounds: [Double]) {
        guard value.isFinite, weight > 0 else { return }
        sized(for: bounds)
        // Bounds are few (≤ 50) and most values small: a linear scan from the bottom is fastest.
        var slot = 0
        while slot < bounds.count, value > bounds[slot] { slot += 1 }
        counts[slot] += weight
    }

    /// Adds what a sketch holds, each of its buckets at its middle.
    mutating func fold(_ distribution: Distribution, bounds: [Double]) {
        guard distribution.count > 0 else { return }
        sized(for: bounds)
        let cumulative = distribution.cumulativeCounts(atOrBelow: bounds) + [distribution.count]
        var below = 0.0
        for (slot, atOrBelow) in cumulative.enumerated() {
            counts[slot] += atOrBelow - below
            below = atOrBelow
        }
    }

    /// A slot for each bound and one above them all, zeroed the first time.
    private mutating func sized(for bounds: [Double]) {
        if counts.count != bounds.count + 1 { counts = [Double](repeating: 0, count: bounds.count + 1) }
    }

    mutating func merge(_ other: ClassicCounts) {
        guard !other.counts.isEmpty else { return }
        guard counts.count == other.counts.count else {
            if counts.isEmpty { counts = other.counts }
            return
        }
        for slot in counts.indices { counts[slot] += other.counts[slot] }
    }

    /// The weight at or below each bound, then the total (the `+Inf` bucket), into a reused buffer.
    public func cumulative(into result: inout [Double]) {
        result.removeAll(keepingCapacity: true)
        var running = 0.0
        for count in counts {
            running += count
            result.append(running)
        }
    }

    /// Counts as a snapshot kept them (checked against the bounds when restored).
    init(restoring counts: [Double]) {
        self.counts = counts
    }

    var heapBytes: Int { counts.isEmpty ? 0 : 32 + counts.capacity * 8 }
}

/// The classic counts a series keeps: its main distribution's and, for a provider × model pair,
/// the time to first token's.
public struct ClassicHistograms: Sendable, Equatable {
    public internal(set) var values = ClassicCounts()
    public internal(set) var timeToFirstToken = ClassicCounts()

    public init(values: ClassicCounts = ClassicCounts(), timeToFirstToken: ClassicCounts = ClassicCounts()) {
        self.values = values
        self.timeToFirstToken = timeToFirstToken
    }

    /// Counts folded from a series' since-start sketches: for a snapshot from before the counts were
    /// kept, or counted against other bounds.
    init(folding aggregate: Aggregate, kind: SeriesKind, timed: Bool, bounds: StoredClassicBounds) {
        if let valueBounds = bounds.values(of: kind, timed: timed) { values.fold(aggregate.distribution, bounds: valueBounds) }
        if kind == .provider { timeToFirstToken.fold(aggregate.ttft, bounds: bounds.timeToFirstToken) }
    }

    mutating func merge(_ other: ClassicHistograms) {
        values.merge(other.values)
        timeToFirstToken.merge(other.timeToFirstToken)
    }

    var heapBytes: Int { values.heapBytes + timeToFirstToken.heapBytes }
}
