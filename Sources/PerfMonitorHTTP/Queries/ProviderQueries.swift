import MicroHTTPD
import PerfJSON
import PerfMonitor

extension PerformanceQueries {
    /// `/performance/providers[?provider=]`: each provider with its models (seed 002 shape, extended).
    func providers(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try QueryParameters(request, accepts: ["provider"], retention: retention)
        var byProvider = try await providerObjects(window: parameters.window()).objects
        if let name = parameters.value("provider") {
            guard let one = byProvider.first(where: { $0.name == name }) else { throw .notFound("unknown provider '\(name)'") }
            byProvider = [one]
        }
        let merged = byProvider.reduce(into: Aggregate()) { $0.merge($1.aggregate) }
        return answer([
            ("providers_count", .int(byProvider.count)),
            ("providers", .object(byProvider.map { ($0.name, $0.json) })),
            ("summary", .object([
                ("total_requests", .double(merged.total)),
                ("success_rate_percent", .double(merged.successRatePercent)),
                ("total_estimated_cost", .double(merged.costUSD)),
            ])),
        ])
    }

    /// `/performance/real-time`: what is happening now, across providers.
    func realTime(_ request: Request) async throws(QueryFailure) -> Response {
        _ = try QueryParameters(request, accepts: [], retention: retention)
        let (providers, inFlight, rate) = await providerObjects(window: nil)
        let memory = monitor.latest?.memory ?? ProcessMemory.read()
        let firing = alertEngine.snapshot.firing
        return answer([
            ("monitoring_active", .bool(true)),
            ("uptime_s", .double(clock.now() - startedAt)),
            ("memory_metrics", .object([
                ("heap_used_mb", .double(memory.heapUsedBytes / ByteCount.mebibyte)),
                ("memory_pressure_percent", .double(memory.pressurePercent)),
                ("total_process_mb", .double(memory.rssBytes / ByteCount.mebibyte)),
            ])),
            ("provider_performance", .object(providers.map { ($0.name, $0.json) })),
            ("throughput_rps", .double(rate)),
            ("in_flight", .int(inFlight)),
            ("active_alerts", .int(firing.count)),
            ("alerts", .array(firing.map { .string($0.text) })),
        ])
    }

    struct ProviderObject {
        let name: String
        let aggregate: Aggregate
        let json: JSONValue
    }

    /// One object per provider, sorted by name; with the total in flight and the event rate.
    func providerObjects(window: TimeSpan?) async -> (objects: [ProviderObject], inFlight: Int, eventsPerSecond: Double) {
        let (views, failovers, inFlightTotal, inFlight, rate, rateLimits) = await store.read { store in
            let inFlight = store.inFlight()
            return (store.series(.provider, window: window), store.series(.failover, window: window),
                    inFlight.total, inFlight.byProvider, store.eventsPerSecondLastMinute(),
                    Dictionary(uniqueKeysWithValues: store.rateLimitsRemaining().map { ($0.key, $0.remaining) }))
        }
        let alerts = alertEngine.snapshot
        let objects = Dictionary(grouping: views, by: \.key.first).sorted { $0.key < $1.key }.map { name, models in
            let aggregate = Aggregate.merged(models)
            let ownFailovers = failovers.filter { $0.key.first == name }.map { ($0.key.second, $0.aggregate.total) }
            var fields: [(String, JSONValue)] = [
                ("provider_name", .string(name)),
                ("health", .string(alerts.health(ofProvider: name))),
                ("total_requests", .double(aggregate.total)),
                ("successful_requests", .double(aggregate.successes)),
                ("failed_requests", .double(aggregate.failures)),
                ("success_rate_percent", .double(aggregate.successRatePercent)),
                ("error_rate_percent", .double(aggregate.errorRatePercent)),
            ]
            fields += durationFields(aggregate.distribution, average: "average_response_time_ms", suffix: "_response_time_ms")
            fields += [
                ("avg_ttft_ms", .double(aggregate.ttft.mean)),
                ("p50_ttft_ms", .double(aggregate.ttft.quantile(0.5))),
                ("p95_ttft_ms", .double(aggregate.ttft.quantile(0.95))),
                ("p999_ttft_ms", .double(aggregate.ttft.quantile(0.999))),
                ("throughput_rps", .double(aggregate.throughput(over: span(of: models)))),
                ("in_flight", .int(inFlight[name] ?? 0)),
                ("total_cost_usd", .double(aggregate.costUSD)),
                ("input_tokens", .double(aggregate.inputTokens)),
                ("output_tokens", .double(aggregate.outputTokens)),
                ("error_types", Aggregate.counts(aggregate.errorTypes)),
                ("rate_limit_hits", .double(aggregate.rateLimitHits)),
                ("failovers", .object(ownFailovers.sorted { $0.0 < $1.0 }.map { ($0.0, .double($0.1)) })),
                ("model_stats", .object(models.map { ($0.key.second, modelJSON($0.aggregate, rateLimits[$0.key])) })),
            ]
            return ProviderObject(name: name, aggregate: aggregate, json: .object(fields))
        }
        return (objects, inFlightTotal, rate)
    }

    /// A model's stats; the remaining rate limits only when its provider has reported them.
    private func modelJSON(_ aggregate: Aggregate, _ remaining: RateLimitRemaining?) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("total_operations", .double(aggregate.total)),
            ("successful_operations", .double(aggregate.successes)),
        ] + durationFields(aggregate.distribution, average: "avg_duration_ms", minMax: false) + [
            ("p95_ttft_ms", .double(aggregate.ttft.quantile(0.95))),
            ("success_rate_percent", .double(aggregate.successRatePercent)),
            ("cost_usd", .double(aggregate.costUSD)),
            ("input_tokens", .double(aggregate.inputTokens)),
            ("output_tokens", .double(aggregate.outputTokens)),
        ]
        if let requests = remaining?.requests { fields.append(("ratelimit_remaining_requests", .double(requests))) }
        if let tokens = remaining?.tokens { fields.append(("ratelimit_remaining_tokens", .double(tokens))) }
        return .object(fields)
    }
}
