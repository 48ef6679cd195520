import CZlib
import MicroHTTPD
import PerfMonitor
import PerfmondConfig

/// `GET /metrics`: everything the store counts, as Prometheus families (docs/metrics.md maps them
/// to the OpenTelemetry GenAI conventions). Counters come from since-start totals, so they never
/// go down while a series lives. OpenMetrics when `Accept` asks for it; gzip when accepted.
public struct MetricsRoute: Sendable {
    public let store: MetricsStore
    public let configuration: MetricsConfiguration
    public let counters: IngestCounters
    public let buffer: IngestBuffer
    public let bodiesTooLarge: @Sendable () -> Int
    public let startedAt: Double

    public init(store: MetricsStore, configuration: MetricsConfiguration, counters: IngestCounters, buffer: IngestBuffer,
                bodiesTooLarge: @escaping @Sendable () -> Int, startedAt: Double) {
        self.store = store
        self.configuration = configuration
        self.counters = counters
        self.buffer = buffer
        self.bodiesTooLarge = bodiesTooLarge
        self.startedAt = startedAt
    }

    public func register(in router: inout Router) {
        router.add("GET", "/metrics", handler: .async { request in await self.handle(request) })
    }

    func handle(_ request: Request) async -> Response {
        let accept = request.headers["Accept"] ?? ""
        let openMetrics = accept.contains("application/openmetrics-text")
        var body = await render(format: openMetrics ? .openMetrics : .prometheus)
        var headers = HTTPHeaders([
            ("Content-Type", openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8"),
            ("Vary", "Accept-Encoding"),
        ])
        if (request.headers["Accept-Encoding"] ?? "").contains("gzip"), let compressed = Self.gzip(body) {
            body = compressed
            headers.add(name: "Content-Encoding", value: "gzip")
        }
        return Response(status: 200, headers: headers, body: body)
    }

    /// Gzip at the fastest level: a scrape is latency-bound and the text compresses well anyway.
    static func gzip(_ bytes: [UInt8]) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: czlib_gzip_bound(bytes.count))
        let produced = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                czlib_gzip(input.baseAddress, input.count, out.baseAddress, out.count, 1)
            }
        }
        guard produced >= 0 else { return nil }
        output.removeSubrange(produced...)
        return output
    }

    struct Snapshot: Sendable {
        var series: [SeriesKind: [SeriesView]] = [:]
        var status = StoreStatus()
        var inFlightTotal = 0
        var inFlightByProvider: [String: Int] = [:]
    }

    func render(format: ExpositionWriter.Format) async -> [UInt8] {
        let snapshot = await store.read { store in
            var snapshot = Snapshot()
            for kind in SeriesKind.allCases { snapshot.series[kind] = store.series(kind) }
            snapshot.status = store.currentStatus()
            (snapshot.inFlightTotal, snapshot.inFlightByProvider) = store.inFlight()
            return snapshot
        }
        var writer = ExpositionWriter(format: format, prefix: configuration.prefix)
        writeProviders(snapshot, &writer)
        writeEndpoints(snapshot, &writer)
        writeComponents(snapshot, &writer)
        writeOthers(snapshot, &writer)
        writeDaemon(snapshot, &writer)
        writer.finish()
        return writer.bytes
    }

    private func writeProviders(_ snapshot: Snapshot, _ w: inout ExpositionWriter) {
        let providers = snapshot.series[.provider] ?? []
        let labels = { (view: SeriesView) in Labels([("provider", view.key.first), ("model", view.key.second)]) }
        w.family("provider_requests_total", .counter, "LLM provider calls completed, by outcome (success or error).")
        for view in providers {
            w.sample("provider_requests_total", labels(view).adding("outcome", "success"), view.aggregate.successes)
            w.sample("provider_requests_total", labels(view).adding("outcome", "error"), view.aggregate.failures)
        }
        w.family("provider_errors_total", .counter, "LLM provider errors by error type (failed calls and error events).")
        for view in providers {
            for (type, count) in view.aggregate.errorTypes.sorted(by: { $0.key < $1.key }) {
                w.sample("provider_errors_total", labels(view).adding("error_type", type), count)
            }
        }
        w.family("provider_request_duration_seconds", .histogram, "LLM provider call duration (gen_ai.client.operation.duration).")
        for view in providers where !view.aggregate.distribution.isEmpty {
            w.histogram("provider_request_duration_seconds", labels(view), view.aggregate.distribution, bounds: configuration.providerDurationBuckets)
        }
        w.family("provider_time_to_first_token_seconds", .histogram, "Time to the first token of streamed LLM calls (gen_ai.server.time_to_first_token).")
        for view in providers where !view.aggregate.ttft.isEmpty {
            w.histogram("provider_time_to_first_token_seconds", labels(view), view.aggregate.ttft, bounds: configuration.ttftBuckets)
        }
        w.family("provider_tokens_total", .counter, "Tokens used, by type: input or output (gen_ai.client.token.usage).")
        for view in providers {
            w.sample("provider_tokens_total", labels(view).adding("type", "input"), view.aggregate.inputTokens)
            w.sample("provider_tokens_total", labels(view).adding("type", "output"), view.aggregate.outputTokens)
        }
        w.family("provider_cost_usd_total", .counter, "Estimated cost of LLM calls in US dollars.")
        for view in providers { w.sample("provider_cost_usd_total", labels(view), view.aggregate.costUSD) }
        w.family("provider_rate_limit_hits_total", .counter, "Rate-limit responses reported by provider and model.")
        for view in providers { w.sample("provider_rate_limit_hits_total", labels(view), view.aggregate.rateLimitHits) }
        w.family("provider_failovers_total", .counter, "Failovers from one provider to another.")
        for view in snapshot.series[.failover] ?? [] {
            w.sample("provider_failovers_total", Labels([("from_provider", view.key.first), ("to_provider", view.key.second)]), view.aggregate.total)
        }
        w.family("provider_requests_in_flight", .gauge, "Requests and provider calls started and not yet ended, by provider.")
        for (provider, count) in snapshot.inFlightByProvider.sorted(by: { $0.key < $1.key }) {
            w.sample("provider_requests_in_flight", Labels([("provider", provider)]), Double(count))
        }
    }

    private func writeEndpoints(_ snapshot: Snapshot, _ w: inout ExpositionWriter) {
        let endpoints = snapshot.series[.endpoint] ?? []
        let labels = { (view: SeriesView) in Labels([("endpoint", view.key.first), ("method", view.key.second)]) }
        w.family("endpoint_requests_total", .counter, "Requests completed by endpoint, method and status code (\"none\" when not reported).")
        for view in endpoints {
            let withoutCode = view.aggregate.total - view.aggregate.statusCodes.values.reduce(0, +)
            for (code, count) in view.aggregate.statusCodes.sorted(by: { $0.key < $1.key }) {
                w.sample("endpoint_requests_total", labels(view).adding("status_code", String(code)), count)
            }
            if withoutCode > 0 { w.sample("endpoint_requests_total", labels(view).adding("status_code", "none"), withoutCode) }
        }
        w.family("endpoint_errors_total", .counter, "Endpoint errors by error type.")
        for view in endpoints {
            for (type, count) in view.aggregate.errorTypes.sorted(by: { $0.key < $1.key }) {
                w.sample("endpoint_errors_total", labels(view).adding("error_type", type), count)
            }
        }
        w.family("endpoint_request_duration_seconds", .histogram, "Request duration by endpoint and method.")
        for view in endpoints where !view.aggregate.distribution.isEmpty {
            w.histogram("endpoint_request_duration_seconds", labels(view), view.aggregate.distribution, bounds: configuration.endpointDurationBuckets)
        }
        w.family("endpoint_request_bytes_total", .counter, "Request payload bytes by endpoint and method.")
        for view in endpoints { w.sample("endpoint_request_bytes_total", labels(view), view.aggregate.requestBytes) }
        w.family("endpoint_response_bytes_total", .counter, "Response payload bytes by endpoint and method.")
        for view in endpoints { w.sample("endpoint_response_bytes_total", labels(view), view.aggregate.responseBytes) }
    }

    private func writeComponents(_ snapshot: Snapshot, _ w: inout ExpositionWriter) {
        let components = snapshot.series[.component] ?? []
        let labels = { (view: SeriesView) in Labels([("component", view.key.first), ("operation", view.key.second)]) }
        w.family("component_operations_total", .counter, "Component operations completed, by outcome (success or error).")
        for view in components {
            w.sample("component_operations_total", labels(view).adding("outcome", "success"), view.aggregate.successes)
            w.sample("component_operations_total", labels(view).adding("outcome", "error"), view.aggregate.failures)
        }
        w.family("component_errors_total", .counter, "Component errors by error type.")
        for view in components {
            for (type, count) in view.aggregate.errorTypes.sorted(by: { $0.key < $1.key }) {
                w.sample("component_errors_total", labels(view).adding("error_type", type), count)
            }
        }
        w.family("component_operation_duration_seconds", .histogram, "Component operation duration.")
        for view in components where !view.aggregate.distribution.isEmpty {
            w.histogram("component_operation_duration_seconds", labels(view), view.aggregate.distribution, bounds: configuration.componentDurationBuckets)
        }
    }

    private func writeOthers(_ snapshot: Snapshot, _ w: inout ExpositionWriter) {
        let caches = snapshot.series[.cache] ?? []
        w.family("cache_requests_total", .counter, "Cache lookups by scope (component or provider) and result: hit or miss.")
        for view in caches {
            w.sample("cache_requests_total", Labels([("scope", view.key.first), ("result", "hit")]), view.aggregate.cacheHits)
            w.sample("cache_requests_total", Labels([("scope", view.key.first), ("result", "miss")]), view.aggregate.cacheMisses)
        }
        w.family("errors_total", .counter, "Errors reported without a provider, endpoint or component, by error type.")
        for view in snapshot.series[.errors] ?? [] {
            for (type, count) in view.aggregate.errorTypes.sorted(by: { $0.key < $1.key }) {
                w.sample("errors_total", Labels([("error_type", type)]), count)
            }
        }
        let metrics = snapshot.series[.metric] ?? []
        w.family("custom_metric", .gauge, "The last value reported for each custom metric.")
        for view in metrics { w.sample("custom_metric", Labels([("name", view.key.first)]), view.aggregate.lastValue) }
        w.family("custom_metric_observations_total", .counter, "Values reported for each custom metric.")
        for view in metrics { w.sample("custom_metric_observations_total", Labels([("name", view.key.first)]), view.aggregate.total) }
        w.family("custom_metric_sum_total", .counter, "Sum of the values reported for each custom metric.")
        for view in metrics { w.sample("custom_metric_sum_total", Labels([("name", view.key.first)]), view.aggregate.distribution.sum) }
        w.family("requests_in_flight", .gauge, "Requests and provider calls started and not yet ended.")
        w.sample("requests_in_flight", Labels(), Double(snapshot.inFlightTotal))
    }

    private func writeDaemon(_ snapshot: Snapshot, _ w: inout ExpositionWriter) {
        let ingest = counters.current
        let status = snapshot.status
        w.family("events_received_total", .counter, "Events accepted by POST /events.")
        w.sample("events_received_total", Labels(), Double(ingest.acceptedEvents))
        w.family("events_rejected_total", .counter, "Events refused by POST /events, by reason.")
        for reason in IngestCounters.Reason.allCases {
            w.sample("events_rejected_total", Labels([("reason", reason.rawValue)]), Double(ingest.rejectedEvents[reason] ?? 0))
        }
        w.family("ingest_requests_rejected_total", .counter, "POST /events requests refused whole, by reason.")
        for reason in IngestCounters.Reason.allCases {
            w.sample("ingest_requests_rejected_total", Labels([("reason", reason.rawValue)]), Double(ingest.rejectedRequests[reason] ?? 0))
        }
        w.sample("ingest_requests_rejected_total", Labels([("reason", "too_large")]), Double(bodiesTooLarge()))
        w.family("ingest_queue_depth", .gauge, "Events accepted and waiting to be applied by the store.")
        w.sample("ingest_queue_depth", Labels(), Double(buffer.depth))
        w.family("ingest_queue_capacity", .gauge, "Events the ingest queue holds at most (ingest_queue_capacity).")
        w.sample("ingest_queue_capacity", Labels(), Double(buffer.capacity))
        w.family("series", .gauge, "Series held by the store, by kind.")
        for kind in SeriesKind.allCases { w.sample("series", Labels([("kind", kind.rawValue)]), Double(status.seriesByKind[kind] ?? 0)) }
        w.family("series_folded_total", .counter, "Events whose label value was folded into __other__ by a cardinality limit, by dimension.")
        for (dimension, count) in status.foldedByDimension.sorted(by: { $0.key < $1.key }) {
            w.sample("series_folded_total", Labels([("dimension", dimension)]), count)
        }
        w.family("series_removed_total", .counter, "Series removed after a retention without events.")
        w.sample("series_removed_total", Labels(), Double(status.removedSeries))
        w.family("requests_abandoned_total", .counter, "Starts whose end did not arrive within request_timeout.")
        w.sample("requests_abandoned_total", Labels(), Double(status.abandonedRequests + status.abandonedProviderCalls))
        w.family("request_starts_dropped_total", .counter, "Starts refused because max_open_requests were already waiting.")
        w.sample("request_starts_dropped_total", Labels(), Double(status.droppedStarts))
        w.family("request_ends_unmatched_total", .counter, "request_end events with neither a known start nor an endpoint.")
        w.sample("request_ends_unmatched_total", Labels(), Double(status.unmatchedEnds))
        w.family("alerts_firing", .gauge, "Alerts firing, by severity.")
        for severity in AlertThreshold.Severity.allCases { w.sample("alerts_firing", Labels([("severity", severity.rawValue)]), 0) }
        w.family("build_info", .gauge, "perfmond's version, as labels; always 1.")
        w.sample("build_info", Labels([("version", PerfmondVersion.current)]), 1)
        w.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
        w.sample("process_resident_memory_bytes", Labels(), ProcessStats.residentBytes())
        w.family("process_cpu_seconds_total", .counter, "User and system CPU time spent in seconds.")
        w.sample("process_cpu_seconds_total", Labels(), ProcessStats.cpuSeconds())
        w.family("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds.")
        w.sample("process_start_time_seconds", Labels(), startedAt)
    }
}

/// The version perfmond reports (`build_info`, `--version`).
public enum PerfmondVersion {
    public static let current = "0.1.0"
}
