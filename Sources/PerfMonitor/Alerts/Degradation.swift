/// A p95 that rose against its own past (seed 000's degradation detection): each provider ×
/// model's recent window (5 minutes by default) against the baseline before it (the hour before).
/// The alert engine judges response times with it (`degradation_*` in the configuration), the
/// recommendations time to first token.
public struct Degradation: Sendable, Equatable {
    /// The recent window and the baseline before it.
    public var recent: TimeSpan
    public var baseline: TimeSpan
    /// Neither side is judged with fewer samples than this.
    public var minimumSamples: Double

    public init(minimumSamples: Double, recent: TimeSpan = .fiveMinutes, baseline: TimeSpan = .oneHour) {
        self.minimumSamples = minimumSamples
        self.recent = recent
        self.baseline = baseline
    }

    /// One series whose p95 rose to at least `ratio` times its baseline's.
    public struct Finding: Sendable {
        public let key: SeriesKey
        public let now: Double
        public let then: Double
        public var ratio: Double { now / then }
    }

    /// The series of `recent` whose `distribution` p95 is at least `ratio` times the same series'
    /// p95 in `baseline` (matched by key; a series without a baseline is not judged).
    public func findings(recent: [SeriesView], baseline: [SeriesView], ratio: Double,
                         of distribution: (Aggregate) -> Distribution) -> [Finding] {
        let before = Dictionary(baseline.map { ($0.key, distribution($0.aggregate)) }, uniquingKeysWith: { first, _ in first })
        return recent.compactMap { view in
            let current = distribution(view.aggregate)
            guard let past = before[view.key], past.count >= minimumSamples, current.count >= minimumSamples else { return nil }
            let now = current.quantile(0.95), then = past.quantile(0.95)
            guard then > 0, now >= then * ratio else { return nil }
            return Finding(key: view.key, now: now, then: then)
        }
    }

    /// The provider series over the baseline range (by default the hour before the last 5 minutes).
    public func baselineSeries(in store: MetricsStore) async -> [SeriesView] {
        await store.series(.provider, length: baseline, endingAgo: recent)
    }
}

/// The degradation alert as configured: whether it runs, and the rise that fires it.
public struct DegradationAlert: Sendable, Equatable {
    public var enabled = true
    /// The recent p95 at least this many times the baseline's fires a warning.
    public var ratio = 1.5
    public var detection = Degradation(minimumSamples: 10)

    public init() {}
}
