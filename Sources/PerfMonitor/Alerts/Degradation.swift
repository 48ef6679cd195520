/// A p95 that rose against its own past (seed 000's degradation detection): each provider ×
/// model's last 5 minutes against the hour before them. The alert engine judges response times
/// with it, the recommendations time to first token.
public struct Degradation: Sendable {
    /// The recent window and the baseline before it.
    public static let recent = TimeSpan.fiveMinutes
    public static let baseline = TimeSpan.oneHour

    /// Neither side is judged with fewer samples than this.
    public let minimumSamples: Double

    public init(minimumSamples: Double) {
        self.minimumSamples = minimumSamples
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

    /// The provider series over the baseline range (the hour before the last 5 minutes).
    public static func baselineSeries(in store: MetricsStore) async -> [SeriesView] {
        await store.series(.provider, length: baseline, endingAgo: recent)
    }
}
