import MicroHTTPD
import PerfJSON
import PerfMonitor

/// One recommendation (seeds 000 and 004): what is wrong, where, and what to try.
struct Recommendation {
    /// Seed 004's estimate of what acting on it is worth, as ratios from 0 to 1 (api.md §2).
    struct Estimate {
        /// The share of the figure that reaching the target would remove (or add, for throughput).
        let improvement: Double
        /// That improvement weighted by the series' share of its kind's calls in the window.
        let impact: Double
        /// Grows with the samples judged: samples ÷ (samples + the rule's `min_samples`).
        let confidence: Double
    }

    let type: String
    let severity: Severity
    /// Where: ("provider", "openai"), ("component", "router"), ("endpoint", "/v1/chat")…
    let scope: [(String, String)]
    let message: String
    let suggestions: [String]
    let currentValue: Double
    let targetValue: Double
    var estimate: Estimate?

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("type", .string(type)), ("severity", .string(severity.rawValue))]
        members += scope.map { ($0.0, JSONValue.string($0.1)) }
        members += [
            ("message", .string(message)),
            ("suggestions", .array(suggestions.map(JSONValue.string))),
            ("current_value", .double(currentValue)),
            ("target_value", .double(targetValue)),
        ]
        if let estimate {
            members += [("impact", .double(estimate.impact)), ("confidence", .double(estimate.confidence)),
                        ("estimated_improvement", .double(estimate.improvement))]
        }
        return .object(members)
    }
}

/// The thresholds of the rules that are not configurable (the configurable ones are
/// `recommendation_rules`), in one place (documented in docs/api.md).
enum FixedRecommendationRules {
    /// No fixed rule judges fewer calls than this.
    static let minimumSamples = 20.0
    static let rateLimitWarning = 5.0, rateLimitCritical = 20.0, rateLimitTarget = 1.0
    static let costShare = 50.0
    static let ttftWarningRatio = 1.5, ttftCriticalRatio = 2.0
}

/// One series (or series merged, such as an endpoint's methods) a configurable rule can judge.
private struct Judged {
    let kind: AlertThreshold.Scope.Kind
    let first: String
    let second: String
    /// ("provider", "openai"), ("model", "gpt-4o")…
    let scope: [(String, String)]
    /// As messages name it: `openai/gpt-4o`, `/v1/chat`, `router`.
    let name: String
    let aggregate: Aggregate
    let spanSeconds: Double
    /// Its kind's calls in the window, for the impact.
    let kindTotal: Double
}

extension PerformanceQueries {
    /// `/performance/recommendations`: rules over the window's statistics.
    func recommendations(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: [], retention: retention)
        let sorted = await recommendationList(window: try parameters.window())
        return answer([("recommendations_count", .int(sorted.count)), ("recommendations", .array(sorted.map(\.json)))])
    }

    /// Every recommendation over `window`, most severe first (the dashboard shows the first three).
    func recommendationList(window: TimeSpan?) async -> [Recommendation] {
        typealias Fixed = FixedRecommendationRules
        let rules = configuration.recommendationRules
        var found: [Recommendation] = []
        let providers = await store.series(.provider, window: window)
        let endpoints = await store.series(.endpoint, window: window)
        let components = await store.series(.component, window: window)

        var judged: [Judged] = []
        let providerTotal = providers.reduce(0) { $0 + $1.aggregate.total }
        for view in providers {
            judged.append(Judged(kind: .provider, first: view.key.first, second: view.key.second,
                                 scope: [("provider", view.key.first), ("model", view.key.second)], name: "\(view.key.first)/\(view.key.second)",
                                 aggregate: view.aggregate, spanSeconds: view.spanSeconds, kindTotal: providerTotal))
        }
        for (kind, views) in [(AlertThreshold.Scope.Kind.endpoint, endpoints), (.component, components)] {
            let total = views.reduce(0) { $0 + $1.aggregate.total }
            for (name, parts) in Dictionary(grouping: views, by: \.key.first) {
                judged.append(Judged(kind: kind, first: name, second: "", scope: [(kind.rawValue, name)], name: name,
                                     aggregate: Aggregate.merged(parts), spanSeconds: parts.map(\.spanSeconds).max() ?? 0, kindTotal: total))
            }
        }
        for series in judged { found += findings(series, rules) }

        for (name, models) in Dictionary(grouping: providers, by: \.key.first) {
            let aggregate = Aggregate.merged(models)
            let attempts = aggregate.total + aggregate.rateLimitHits
            let share = attempts > 0 ? aggregate.rateLimitHits / attempts * 100 : 0
            if attempts >= Fixed.minimumSamples, share > Fixed.rateLimitWarning {
                found.append(Recommendation(
                    type: "rate_limit_pressure", severity: share > Fixed.rateLimitCritical ? .critical : .warning, scope: [("provider", name)],
                    message: "\(name) rate-limited \(JSONNumber.rounded(share))% of attempts (\(JSONNumber.rounded(aggregate.rateLimitHits)) hits)",
                    suggestions: ["Spread load across more API keys or providers", "Add client-side rate limiting with backoff",
                                  "Ask the provider for a higher quota", "Fail over earlier on 429"],
                    currentValue: share, targetValue: Fixed.rateLimitTarget))
            }
        }
        let totalCost = providers.reduce(0) { $0 + $1.aggregate.costUSD }
        if totalCost > 0, providers.filter({ $0.aggregate.costUSD > 0 }).count >= 2 {
            for view in providers where view.aggregate.costUSD / totalCost * 100 > Fixed.costShare {
                let share = view.aggregate.costUSD / totalCost * 100
                found.append(Recommendation(
                    type: "cost_concentration", severity: .info, scope: [("provider", view.key.first), ("model", view.key.second)],
                    message: "\(view.key.first)/\(view.key.second) accounts for \(JSONNumber.rounded(share))% of the cost ($\(JSONNumber.rounded(view.aggregate.costUSD)) of $\(JSONNumber.rounded(totalCost)))",
                    suggestions: ["Route simple requests to a cheaper model", "Cache frequent prompts", "Trim prompts and cap output tokens"],
                    currentValue: share, targetValue: Fixed.costShare))
            }
        }
        found += await ttftDegradation()
        for view in await store.series(.cache, window: window) {
            guard let rule = rules.rule(.lowCacheHitRatio, forCache: view.key.first) else { continue }
            let lookups = view.aggregate.cacheLookups, ratio = view.aggregate.cacheHitRatioPercent
            if lookups >= Double(rule.minSamples), ratio < rule.target {
                found.append(Recommendation(
                    type: "low_cache_hit_ratio", severity: .warning, scope: [("cache", view.key.first)],
                    message: "cache \(view.key.first) hits \(JSONNumber.rounded(ratio))% of \(JSONNumber.rounded(lookups)) lookups, below the \(JSONNumber.rounded(rule.target))% target",
                    suggestions: ["Increase the cache TTL or size", "Normalize cache keys (whitespace, parameter order)",
                                  "Pre-warm the cache with frequent requests"],
                    currentValue: ratio, targetValue: rule.target,
                    estimate: Self.estimate(improvement: (rule.target - ratio) / rule.target, share: 1, samples: lookups, rule: rule)))
            }
        }
        // Most severe first, then by type and by where: the same answer on every run (the groups
        // above come from dictionaries, whose order changes from process to process).
        return found.sorted { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.type != b.type { return a.type < b.type }
            return a.scope.map { "\($0)=\($1)" }.lexicographicallyPrecedes(b.scope.map { "\($0)=\($1)" })
        }
    }

    /// The configurable rules (`recommendation_rules`) that cover one series, each against the
    /// narrowest rule of its type.
    private func findings(_ series: Judged, _ rules: [RecommendationRule]) -> [Recommendation] {
        let aggregate = series.aggregate, samples = aggregate.total
        let share = series.kindTotal > 0 ? samples / series.kindTotal : 0
        func rule(_ type: RecommendationRule.Kind) -> RecommendationRule? { rules.rule(type, for: series.kind, series.first, series.second) }
        let llm = series.kind != .component
        var found: [Recommendation] = []
        if let rule = rule(.highLatency), aggregate.distribution.count >= Double(rule.minSamples), aggregate.distribution.mean > rule.target {
            let average = aggregate.distribution.mean
            found.append(Recommendation(
                type: "high_latency", severity: average > 2 * rule.target ? .critical : .warning, scope: series.scope,
                message: "average latency of \(series.name): \(JSONNumber.rounded(average)) ms exceeds the \(JSONNumber.rounded(rule.target)) ms target",
                suggestions: llm
                    ? ["Use a faster or smaller model for latency-sensitive requests", "Stream responses to cut time to first token",
                       "Cap max output tokens", "Check the provider's status and fail over when it is degraded"]
                    : ["Profile the component's slowest operations (/performance/components)", "Cache what it computes again and again",
                       "Batch small operations together", "Check the host for memory pressure or contention"],
                currentValue: average, targetValue: rule.target,
                estimate: Self.estimate(improvement: (average - rule.target) / average, share: share, samples: samples, rule: rule)))
        }
        if let rule = rule(.highErrorRate), samples >= Double(rule.minSamples), aggregate.errorRatePercent > rule.target {
            let rate = aggregate.errorRatePercent
            found.append(Recommendation(
                type: "high_error_rate", severity: rate >= 1.5 * rule.target ? .critical : .warning, scope: series.scope,
                message: "error rate of \(series.name): \(JSONNumber.rounded(rate))% exceeds the \(JSONNumber.rounded(rule.target))% target",
                suggestions: llm
                    ? ["Check deployment health and credentials", "Review the error types for a common cause",
                       "Add retries with backoff for transient errors", "Fail over to another provider"]
                    : ["Check the health of what the component depends on", "Review its error types (/performance/components)",
                       "Retry transient failures with backoff", "Consider switching the feature off until it recovers"],
                currentValue: rate, targetValue: rule.target,
                estimate: Self.estimate(improvement: (rate - rule.target) / rate, share: share, samples: samples, rule: rule)))
        }
        let throughput = aggregate.throughput(over: series.spanSeconds)
        if let rule = rule(.lowThroughput), samples >= Double(rule.minSamples), throughput < rule.target {
            found.append(Recommendation(
                type: "low_throughput", severity: throughput < rule.target / 2 ? .critical : .warning, scope: series.scope,
                message: "throughput of \(series.name): \(JSONNumber.rounded(throughput)) ops/s is below the expected \(JSONNumber.rounded(rule.target)) ops/s",
                suggestions: ["Raise the concurrency or pool size in front of it", "Look for timeouts or queueing on the way",
                              "Review how load is balanced across instances"],
                currentValue: throughput, targetValue: rule.target,
                estimate: Self.estimate(improvement: (rule.target - throughput) / rule.target, share: share, samples: samples, rule: rule)))
        }
        // Errors by type: failed calls and error events reported on their own alike.
        let errors = aggregate.errorTypes.values.reduce(0, +)
        if let rule = rule(.dominantErrorType), let (type, count) = aggregate.errorTypes.max(by: { $0.value < $1.value }),
           errors >= Double(rule.minSamples), count / errors * 100 >= rule.target {
            found.append(Recommendation(
                type: "dominant_error_type", severity: .warning, scope: series.scope + [("error_type", type)],
                message: "\(type) accounts for \(JSONNumber.rounded(count / errors * 100))% of the \(JSONNumber.rounded(errors)) errors of \(series.name)",
                suggestions: ["Fix the cause of \(type) first: it is most of the failures", "Look at recent events of this type (/performance/events)"],
                currentValue: count, targetValue: 0))
        }
        return found
    }

    /// Seed 004's three figures, each rounded to two decimals and kept within 0…1.
    private static func estimate(improvement: Double, share: Double, samples: Double, rule: RecommendationRule) -> Recommendation.Estimate {
        func ratio(_ value: Double) -> Double { (Swift.min(1, Swift.max(0, value)) * 100).rounded() / 100 }
        return Recommendation.Estimate(improvement: ratio(improvement), impact: ratio(improvement * share),
                                       confidence: ratio(samples / (samples + Double(Swift.max(1, rule.minSamples)))))
    }

    /// p95 time to first token over the last 5 minutes against the hour before.
    private func ttftDegradation() async -> [Recommendation] {
        typealias Fixed = FixedRecommendationRules
        let rule = Degradation(minimumSamples: Fixed.minimumSamples)
        let recent = await store.series(.provider, window: rule.recent)
        let baseline = await rule.baselineSeries(in: store)
        return rule.findings(recent: recent, baseline: baseline, ratio: Fixed.ttftWarningRatio, of: \.ttft).map { found in
            Recommendation(
                type: "ttft_degradation", severity: found.ratio > Fixed.ttftCriticalRatio ? .critical : .warning,
                scope: [("provider", found.key.first), ("model", found.key.second)],
                message: "p95 time to first token of \(found.key.first)/\(found.key.second) rose to \(JSONNumber.rounded(found.now)) ms from \(JSONNumber.rounded(found.then)) ms in the previous hour",
                suggestions: ["Check the provider's status page", "Fail over latency-sensitive traffic", "Reduce prompt length"],
                currentValue: found.now, targetValue: found.then)
        }
    }
}
