import MicroHTTPD
import PerfJSON
import PerfMonitor

/// One recommendation (seeds 000 and 004): what is wrong, where, and what to try.
struct Recommendation {
    /// Seed 004's estimate of what acting on it is worth, where the rule can say.
    struct Estimate {
        /// low, medium or high.
        let impact: String
        let effort: String
        /// 0…1: grows with the samples the rule judged (samples ÷ (samples + the rules' minimum)).
        let confidence: Double
        /// What the figure becomes at the target, in words.
        let improvement: String
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
            members += [("impact", .string(estimate.impact)), ("effort", .string(estimate.effort)),
                        ("confidence", .double(estimate.confidence)), ("estimated_improvement", .string(estimate.improvement))]
        }
        return .object(members)
    }
}

/// The rules and their thresholds, in one place (documented in docs/api.md).
enum RecommendationRules {
    /// No rule judges fewer calls (or cache lookups) than this.
    static let minimumSamples = 20.0
    static let latencyWarningMs = 2000.0, latencyCriticalMs = 5000.0, latencyTargetMs = 1000.0
    static let successWarning = 90.0, successCritical = 80.0, successTarget = 95.0
    static let dominantErrorShare = 50.0, dominantErrorMinimum = 10.0
    static let rateLimitWarning = 5.0, rateLimitCritical = 20.0, rateLimitTarget = 1.0
    static let costShare = 50.0
    static let ttftWarningRatio = 1.5, ttftCriticalRatio = 2.0
    static let cacheHitWarning = 50.0, cacheHitTarget = 80.0
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
        typealias Rules = RecommendationRules
        var found: [Recommendation] = []
        let providers = await store.series(.provider, window: window)
        let endpoints = await store.series(.endpoint, window: window)
        let components = await store.series(.component, window: window)

        for view in providers {
            let scope = [("provider", view.key.first), ("model", view.key.second)]
            found += latency(view.aggregate, scope: scope, name: "\(view.key.first)/\(view.key.second)")
            found += reliability(view.aggregate, scope: scope, name: "\(view.key.first)/\(view.key.second)")
        }
        for (path, methods) in Dictionary(grouping: endpoints, by: \.key.first) {
            let aggregate = Aggregate.merged(methods)
            found += latency(aggregate, scope: [("endpoint", path)], name: path)
            found += reliability(aggregate, scope: [("endpoint", path)], name: path)
        }
        let targets = configuration.recommendationRules
        for (name, operations) in Dictionary(grouping: components, by: \.key.first) {
            let aggregate = Aggregate.merged(operations)
            let span = operations.map(\.spanSeconds).max() ?? 0
            found += componentFindings(aggregate, spanSeconds: span, name: name, targets: targets.targets(for: name))
            found += reliability(aggregate, scope: [("component", name)], name: name, judgingSuccessRate: false)
        }
        for (name, models) in Dictionary(grouping: providers, by: \.key.first) {
            let aggregate = Aggregate.merged(models)
            let attempts = aggregate.total + aggregate.rateLimitHits
            let share = attempts > 0 ? aggregate.rateLimitHits / attempts * 100 : 0
            if attempts >= Rules.minimumSamples, share > Rules.rateLimitWarning {
                found.append(Recommendation(
                    type: "rate_limit_pressure", severity: share > Rules.rateLimitCritical ? .critical : .warning, scope: [("provider", name)],
                    message: "\(name) rate-limited \(JSONNumber.rounded(share))% of attempts (\(JSONNumber.rounded(aggregate.rateLimitHits)) hits)",
                    suggestions: ["Spread load across more API keys or providers", "Add client-side rate limiting with backoff",
                                  "Ask the provider for a higher quota", "Fail over earlier on 429"],
                    currentValue: share, targetValue: Rules.rateLimitTarget))
            }
        }
        let totalCost = providers.reduce(0) { $0 + $1.aggregate.costUSD }
        if totalCost > 0, providers.filter({ $0.aggregate.costUSD > 0 }).count >= 2 {
            for view in providers where view.aggregate.costUSD / totalCost * 100 > Rules.costShare {
                let share = view.aggregate.costUSD / totalCost * 100
                found.append(Recommendation(
                    type: "cost_concentration", severity: .info, scope: [("provider", view.key.first), ("model", view.key.second)],
                    message: "\(view.key.first)/\(view.key.second) accounts for \(JSONNumber.rounded(share))% of the cost ($\(JSONNumber.rounded(view.aggregate.costUSD)) of $\(JSONNumber.rounded(totalCost)))",
                    suggestions: ["Route simple requests to a cheaper model", "Cache frequent prompts", "Trim prompts and cap output tokens"],
                    currentValue: share, targetValue: Rules.costShare))
            }
        }
        found += await ttftDegradation()
        for view in await store.series(.cache, window: window) {
            let lookups = view.aggregate.cacheLookups, ratio = view.aggregate.cacheHitRatioPercent
            if lookups >= Rules.minimumSamples, ratio < Rules.cacheHitWarning {
                found.append(Recommendation(
                    type: "low_cache_hit_ratio", severity: .warning, scope: [("cache", view.key.first)],
                    message: "cache \(view.key.first) hits \(JSONNumber.rounded(ratio))% of \(JSONNumber.rounded(lookups)) lookups",
                    suggestions: ["Increase the cache TTL or size", "Normalize cache keys (whitespace, parameter order)",
                                  "Pre-warm the cache with frequent requests"],
                    currentValue: ratio, targetValue: Rules.cacheHitTarget))
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

    private func latency(_ aggregate: Aggregate, scope: [(String, String)], name: String) -> [Recommendation] {
        typealias Rules = RecommendationRules
        let p95 = aggregate.distribution.quantile(0.95)
        guard aggregate.distribution.count >= Rules.minimumSamples, p95 > Rules.latencyWarningMs else { return [] }
        return [Recommendation(
            type: "high_latency", severity: p95 > Rules.latencyCriticalMs ? .critical : .warning, scope: scope,
            message: "p95 latency of \(name): \(JSONNumber.rounded(p95)) ms exceeds \(JSONNumber.rounded(Rules.latencyWarningMs)) ms",
            suggestions: ["Use a faster or smaller model for latency-sensitive requests", "Stream responses to cut time to first token",
                          "Cap max output tokens", "Check the provider's status and fail over when it is degraded"],
            currentValue: p95, targetValue: Rules.latencyTargetMs)]
    }

    /// The success rate (providers, endpoints; components have `high_error_rate` against their
    /// target instead) and a dominant error type.
    private func reliability(_ aggregate: Aggregate, scope: [(String, String)], name: String, judgingSuccessRate: Bool = true) -> [Recommendation] {
        typealias Rules = RecommendationRules
        guard aggregate.total >= Rules.minimumSamples else { return [] }
        var found: [Recommendation] = []
        let success = aggregate.successRatePercent
        if judgingSuccessRate, success < Rules.successWarning {
            found.append(Recommendation(
                type: "low_success_rate", severity: success < Rules.successCritical ? .critical : .warning, scope: scope,
                message: "success rate of \(name): \(JSONNumber.rounded(success))% is below \(JSONNumber.rounded(Rules.successWarning))%",
                suggestions: ["Check deployment health and credentials", "Review the error types for a common cause",
                              "Add retries with backoff for transient errors", "Fail over to another provider"],
                currentValue: success, targetValue: Rules.successTarget))
        }
        if let (type, count) = aggregate.errorTypes.max(by: { $0.value < $1.value }), aggregate.failures >= Rules.dominantErrorMinimum,
           count / aggregate.failures * 100 >= Rules.dominantErrorShare {
            found.append(Recommendation(
                type: "dominant_error_type", severity: .warning, scope: scope + [("error_type", type)],
                message: "\(type) accounts for \(JSONNumber.rounded(count / aggregate.failures * 100))% of the \(JSONNumber.rounded(aggregate.failures)) failures of \(name)",
                suggestions: ["Fix the cause of \(type) first: it is most of the failures", "Look at recent events of this type (/performance/events)"],
                currentValue: count, targetValue: 0))
        }
        return found
    }

    /// Seed 000's component rules, against the configured targets (`recommendation_rules`):
    /// average latency above its target (critical past twice it), error rate above its target
    /// (critical from one and a half times it), throughput below the expected rate (critical
    /// under a quarter of it).
    private func componentFindings(_ aggregate: Aggregate, spanSeconds: Double, name: String,
                                   targets: ComponentTargets.Resolved) -> [Recommendation] {
        typealias Rules = RecommendationRules
        let samples = aggregate.total
        let confidence = (samples / (samples + Rules.minimumSamples) * 100).rounded() / 100
        let scope = [("component", name)]
        var found: [Recommendation] = []
        if let target = targets.latencyMs, aggregate.distribution.count >= Rules.minimumSamples, aggregate.distribution.mean > target {
            let average = aggregate.distribution.mean
            let critical = average > 2 * target
            found.append(Recommendation(
                type: "high_latency", severity: critical ? .critical : .warning, scope: scope,
                message: "average latency of \(name): \(JSONNumber.rounded(average)) ms exceeds the \(JSONNumber.rounded(target)) ms target",
                suggestions: ["Profile the component's slowest operations (/performance/components)", "Cache what it computes again and again",
                              "Batch small operations together", "Check the host for memory pressure or contention"],
                currentValue: average, targetValue: target,
                estimate: .init(impact: critical ? "high" : "medium", effort: "medium", confidence: confidence,
                                improvement: "average latency from \(JSONNumber.rounded(average)) ms to \(JSONNumber.rounded(target)) ms (\(Self.change(from: average, to: target)))")))
        }
        if let target = targets.errorRatePercent, samples >= Rules.minimumSamples, aggregate.errorRatePercent > target {
            let rate = aggregate.errorRatePercent
            let critical = rate >= 1.5 * target
            found.append(Recommendation(
                type: "high_error_rate", severity: critical ? .critical : .warning, scope: scope,
                message: "error rate of \(name): \(JSONNumber.rounded(rate))% exceeds the \(JSONNumber.rounded(target))% target",
                suggestions: ["Check the health of what the component depends on", "Review its error types (/performance/components)",
                              "Retry transient failures with backoff", "Consider switching the feature off until it recovers"],
                currentValue: rate, targetValue: target,
                estimate: .init(impact: critical ? "high" : "medium", effort: "medium", confidence: confidence,
                                improvement: "errors from \(JSONNumber.rounded(rate))% to \(JSONNumber.rounded(target))% of operations (\(Self.change(from: rate, to: target)))")))
        }
        let throughput = aggregate.throughput(over: spanSeconds)
        if let expected = targets.throughputPerSecond, samples > 0, throughput < expected {
            let critical = throughput < expected / 4
            found.append(Recommendation(
                type: "low_throughput", severity: critical ? .critical : .warning, scope: scope,
                message: "throughput of \(name): \(JSONNumber.rounded(throughput)) ops/s is below the expected \(JSONNumber.rounded(expected)) ops/s",
                suggestions: ["Raise the component's concurrency or pool size", "Look for timeouts or queueing in front of it",
                              "Review how load is balanced across instances"],
                currentValue: throughput, targetValue: expected,
                estimate: .init(impact: critical ? "high" : "medium", effort: "low", confidence: confidence,
                                improvement: "throughput from \(JSONNumber.rounded(throughput)) to \(JSONNumber.rounded(expected)) ops/s (\(Self.change(from: throughput, to: expected)))")))
        }
        return found
    }

    /// `-33%`, `+88%`: the relative change from `current` to `target`.
    private static func change(from current: Double, to target: Double) -> String {
        guard current != 0 else { return "from none" }
        let percent = ((target - current) / current * 100).rounded()
        return (percent > 0 ? "+" : "") + "\(Int(percent))%"
    }

    /// p95 time to first token over the last 5 minutes against the hour before.
    private func ttftDegradation() async -> [Recommendation] {
        typealias Rules = RecommendationRules
        let recent = await store.series(.provider, window: Degradation.recent)
        let baseline = await Degradation.baselineSeries(in: store)
        let rule = Degradation(minimumSamples: Rules.minimumSamples)
        return rule.findings(recent: recent, baseline: baseline, ratio: Rules.ttftWarningRatio, of: \.ttft).map { found in
            Recommendation(
                type: "ttft_degradation", severity: found.ratio > Rules.ttftCriticalRatio ? .critical : .warning,
                scope: [("provider", found.key.first), ("model", found.key.second)],
                message: "p95 time to first token of \(found.key.first)/\(found.key.second) rose to \(JSONNumber.rounded(found.now)) ms from \(JSONNumber.rounded(found.then)) ms in the previous hour",
                suggestions: ["Check the provider's status page", "Fail over latency-sensitive traffic", "Reduce prompt length"],
                currentValue: found.now, targetValue: found.then)
        }
    }
}
