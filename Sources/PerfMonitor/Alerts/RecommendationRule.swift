/// One rule of `/performance/recommendations` (`recommendation_rules`, api.md §2): a type, the
/// target it measures series against, the series it is for. For each series and type the
/// narrowest rule that covers the series applies; a type no rule covers is not judged there.
public struct RecommendationRule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Average latency (ms) above the target: warning; above twice it: critical.
        case highLatency = "high_latency"
        /// Failed calls (percent) above the target: warning; at 1.5 times it or more: critical.
        case highErrorRate = "high_error_rate"
        /// Calls per second over the window below the target: warning; below half of it: critical.
        case lowThroughput = "low_throughput"
        /// A cache scope's hits (percent of lookups) below the target: warning.
        case lowCacheHitRatio = "low_cache_hit_ratio"
        /// One error type's share of the errors by type (percent) at or above the target: warning.
        case dominantErrorType = "dominant_error_type"
    }

    public var type: Kind
    public var target: Double
    /// Which series: kind and names as an alert threshold's scope has them; for a cache scope,
    /// `component` or `provider` names it (an empty scope covers every cache).
    public var scope: AlertThreshold.Scope
    /// No series with fewer calls (lookups; errors by type for `dominant_error_type`) is judged.
    public var minSamples: Int

    public static let defaultMinSamples = 20

    public init(_ type: Kind, target: Double, scope: AlertThreshold.Scope = .init(), minSamples: Int = defaultMinSamples) {
        self.type = type
        self.target = target
        self.scope = scope
        self.minSamples = minSamples
    }

    /// Seed 000's figures: 100 ms of average latency for components, 2,000 ms for providers (and
    /// the endpoints that wrap them), 5 % of errors; no expected throughput (only an operator knows
    /// it); a cache under 50 % of hits; one error type at half of ≥ 10 errors.
    public static let defaults: [RecommendationRule] = [
        RecommendationRule(.highLatency, target: 100, scope: .init(kind: .component)),
        RecommendationRule(.highLatency, target: 2000, scope: .init(kind: .provider)),
        RecommendationRule(.highLatency, target: 2000, scope: .init(kind: .endpoint)),
        RecommendationRule(.highErrorRate, target: 5),
        RecommendationRule(.lowCacheHitRatio, target: 50),
        RecommendationRule(.dominantErrorType, target: 50, minSamples: 10),
    ]
}

extension [RecommendationRule] {
    /// The narrowest rule of `type` covering a series of `kind` with these two labels.
    public func rule(_ type: RecommendationRule.Kind, for kind: AlertThreshold.Scope.Kind, _ first: String, _ second: String = "") -> RecommendationRule? {
        filter { $0.type == type && $0.scope.covers(kind, first, second) }.max { $0.scope.specificity < $1.scope.specificity }
    }

    /// The narrowest rule of `type` covering the cache scope `name`.
    public func rule(_ type: RecommendationRule.Kind, forCache name: String) -> RecommendationRule? {
        filter { rule in
            let scope = rule.scope
            return rule.type == type && scope.kind == nil && scope.endpoint == nil && scope.model == nil
                && (scope.component == nil || scope.component == name) && (scope.provider == nil || scope.provider == name)
        }.max { $0.scope.specificity < $1.scope.specificity }
    }
}
