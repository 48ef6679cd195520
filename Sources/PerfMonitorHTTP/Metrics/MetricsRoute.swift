import AlertSinks
import CZlib
import MicroHTTPD
import PerfMonitor
import PerfmondConfig
import Synchronization

/// `GET /metrics`: everything the store counts, as Prometheus families (docs/metrics.md maps them
/// to the OpenTelemetry GenAI conventions). Counters come from since-start totals, so they never
/// go down while a series lives. OpenMetrics when `Accept` asks for it; gzip when accepted.
public struct MetricsRoute: Sendable {
    public let store: MetricsStore
    public let configuration: MetricsConfiguration
    public let counters: IngestCounters
    public let buffer: IngestBuffer
    /// What the HTTP server refused before any route (413s by path, framing problems).
    public let serverRefusals: @Sendable () -> ServerRefusals
    public let monitor: SystemMonitor
    public let alertEngine: AlertEngine
    public let dispatcher: AlertDispatcher
    public let access: AccessPolicy
    public let live: LiveConfiguration
    public let snapshots: SnapshotStatus
    public let startedAt: Double
    /// How long LiteLLM batches waited for room in the ingest queue.
    public let queueWaits: QueueWaits
    /// What the StatsD listeners received (zeros while they are off).
    public let statsd: StatsDCounters
    /// What the OTLP routes did with what they received.
    public let otlp: OTLPFigures
    /// The live followers of `/performance/events`.
    public let followers: EventFollowers
    /// Remote write's queue and counts (nil while remote write is off).
    public let remoteWrite: RemoteWriteQueue?
    /// The size of the last scrape: the next one reserves that much (and an eighth more) at once
    /// instead of doubling its way there, copying and faulting in pages at every step.
    private let lastSize = SizeHint()

    public init(store: MetricsStore, configuration: MetricsConfiguration, counters: IngestCounters, buffer: IngestBuffer,
                serverRefusals: @escaping @Sendable () -> ServerRefusals, monitor: SystemMonitor, alertEngine: AlertEngine,
                dispatcher: AlertDispatcher, access: AccessPolicy, live: LiveConfiguration, snapshots: SnapshotStatus,
                startedAt: Double, queueWaits: QueueWaits, statsd: StatsDCounters = StatsDCounters(),
                otlp: OTLPFigures = OTLPFigures(), followers: EventFollowers = EventFollowers(), remoteWrite: RemoteWriteQueue? = nil) {
        self.otlp = otlp
        self.remoteWrite = remoteWrite
        self.followers = followers
        self.queueWaits = queueWaits
        self.statsd = statsd
        self.store = store
        self.configuration = configuration
        self.counters = counters
        self.buffer = buffer
        self.serverRefusals = serverRefusals
        self.monitor = monitor
        self.alertEngine = alertEngine
        self.dispatcher = dispatcher
        self.access = access
        self.live = live
        self.snapshots = snapshots
        self.startedAt = startedAt
    }

    public func register(in routes: inout Routes) {
        routes.add("GET", "/metrics", access: .scrape, handler: .async { request in await self.handle(request) })
    }

    func handle(_ request: Request) async -> Response {
        let format = ExpositionFormat(accept: request.headers["Accept"] ?? "")
        var body = await render(format: format)
        var headers = HTTPHeaders([("Content-Type", format.contentType), ("Vary", "Accept, Accept-Encoding")])
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
        var inFlight = InFlight()
        /// Set series over the last 5 minutes (a set's gauge is its distinct members there).
        var recentSets: [SeriesView] = []
        var rateLimits: [(key: SeriesKey, remaining: RateLimitRemaining)] = []
    }

    static let queueWaitBuckets = [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30]

    /// The classic bounds of the histogram families: the store counts values against them.
    var bounds: ClassicBounds { store.configuration.classicBounds }

    /// What the store holds for an exposition, in one visit.
    private func snapshot() async -> Snapshot {
        await store.read { store in
            var snapshot = Snapshot()
            for kind in SeriesKind.allCases { snapshot.series[kind] = store.series(kind) }
            snapshot.status = store.currentStatus()
            snapshot.inFlight = store.inFlight()
            snapshot.recentSets = store.series(.set, window: .fiveMinutes)
            snapshot.rateLimits = store.rateLimitsRemaining()
            return snapshot
        }
    }

    func render(format: ExpositionFormat) async -> [UInt8] {
        let snapshot = await snapshot()
        let expected = lastSize.bytes.load(ordering: .relaxed)
        let capacity = expected + expected / 8, prefix = configuration.prefix
        let bytes = switch format {
        case .text: written(snapshot, into: TextExposition(format: .prometheus, prefix: prefix, capacity: capacity)).bytes
        case .openMetrics: written(snapshot, into: TextExposition(format: .openMetrics, prefix: prefix, capacity: capacity)).bytes
        case .protobuf: written(snapshot, into: ProtobufExposition(prefix: prefix, capacity: capacity)).bytes
        }
        lastSize.bytes.store(bytes.count, ordering: .relaxed)
        return bytes
    }

    private func written<W: MetricsExposition>(_ snapshot: Snapshot, into writer: W) -> W {
        var writer = writer
        writeProviders(snapshot, &writer)
        writeEndpoints(snapshot, &writer)
        writeComponents(snapshot, &writer)
        writeOthers(snapshot, &writer)
        writeDaemon(snapshot, &writer)
        writer.finish()
        return writer
    }

    /// Everything a scrape shows, written by `writer` (remote write builds its requests so).
    func exposition<W: MetricsExposition>(_ writer: W) async -> W {
        written(await snapshot(), into: writer)
    }

    private func writeProviders<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let providers = snapshot.series[.provider] ?? []
        let labels = providers.map { SeriesLabels([("provider", $0.key.first), ("model", $0.key.second)]) }
        writeOutcomes("provider_requests_total", "LLM provider calls completed, by outcome (success or error).", providers, labels, &w)
        writeErrors("provider_errors_total", "LLM provider errors by error type (failed calls and error events).", providers, labels, &w)
        writeDurations("provider_request_duration_seconds", "LLM provider call duration (gen_ai.client.operation.duration).",
                       bounds.providerDuration, .duration, providers, labels, &w)
        writeDurations("provider_time_to_first_token_seconds", "Time to the first token of streamed LLM calls (gen_ai.server.time_to_first_token).",
                       bounds.timeToFirstToken, .timeToFirstToken, providers, labels, &w)
        w.family("provider_tokens_total", .counter, "Tokens used, by type: input or output (gen_ai.client.token.usage).")
        for index in providers.indices {
            w.sample(labels[index], providers[index].aggregate.inputTokens, extra: #"type="input""#)
            w.sample(labels[index], providers[index].aggregate.outputTokens, extra: #"type="output""#)
        }
        w.family("provider_cost_usd_total", .counter, "Estimated cost of LLM calls in US dollars.")
        for index in providers.indices { w.sample(labels[index], providers[index].aggregate.costUSD) }
        w.family("provider_rate_limit_hits_total", .counter, "Rate-limit responses reported by provider and model.")
        for index in providers.indices { w.sample(labels[index], providers[index].aggregate.rateLimitHits) }
        w.family("provider_ratelimit_remaining", .gauge, "Requests or tokens the provider's rate limit still allowed, as its last response said (LiteLLM).")
        for (key, remaining) in snapshot.rateLimits {
            let labels = SeriesLabels([("provider", key.first), ("model", key.second)])
            if let requests = remaining.requests { w.sample(labels, requests, extra: #"kind="requests""#) }
            if let tokens = remaining.tokens { w.sample(labels, tokens, extra: #"kind="tokens""#) }
        }
        w.family("provider_failovers_total", .counter, "Failovers from one provider to another.")
        for view in snapshot.series[.failover] ?? [] {
            w.sample(SeriesLabels([("from_provider", view.key.first), ("to_provider", view.key.second)]), view.aggregate.total)
        }
        w.family("provider_requests_in_flight", .gauge, "Requests and provider calls started and not yet ended, by provider.")
        for (provider, count) in snapshot.inFlight.byProvider.sorted(by: { $0.key < $1.key }) {
            w.sample(SeriesLabels([("provider", provider)]), Double(count))
        }
    }

    private func writeEndpoints<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let endpoints = snapshot.series[.endpoint] ?? []
        let labels = endpoints.map { SeriesLabels([("endpoint", $0.key.first), ("method", $0.key.second)]) }
        w.family("endpoint_requests_total", .counter, "Requests completed by endpoint, method and status code (\"none\" when not reported).")
        for index in endpoints.indices {
            let statusCodes = endpoints[index].aggregate.statusCodes
            for (code, count) in statusCodes.sorted(by: { $0.key < $1.key }) {
                w.sample(labels[index], count, label: "status_code", String(code))
            }
            let withoutCode = endpoints[index].aggregate.total - statusCodes.values.reduce(0, +)
            if withoutCode > 0 { w.sample(labels[index], withoutCode, extra: #"status_code="none""#) }
        }
        writeErrors("endpoint_errors_total", "Endpoint errors by error type.", endpoints, labels, &w)
        w.family("endpoint_requests_in_flight", .gauge, "Requests started (request_start) and not yet ended, by endpoint.")
        for (endpoint, count) in snapshot.inFlight.byEndpoint.sorted(by: { $0.key < $1.key }) {
            w.sample(SeriesLabels([("endpoint", endpoint)]), Double(count))
        }
        writeDurations("endpoint_request_duration_seconds", "Request duration by endpoint and method.",
                       bounds.endpointDuration, .duration, endpoints, labels, &w)
        w.family("endpoint_request_bytes_total", .counter, "Request payload bytes by endpoint and method.")
        for index in endpoints.indices { w.sample(labels[index], endpoints[index].aggregate.requestBytes) }
        w.family("endpoint_response_bytes_total", .counter, "Response payload bytes by endpoint and method.")
        for index in endpoints.indices { w.sample(labels[index], endpoints[index].aggregate.responseBytes) }
    }

    private func writeComponents<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let components = snapshot.series[.component] ?? []
        let labels = components.map { SeriesLabels([("component", $0.key.first), ("operation", $0.key.second)]) }
        writeOutcomes("component_operations_total", "Component operations completed, by outcome (success or error).", components, labels, &w)
        writeErrors("component_errors_total", "Component errors by error type.", components, labels, &w)
        w.family("component_operations_in_flight", .gauge, "Component tasks started (request_start naming the component) and not yet ended, by component.")
        for (component, count) in snapshot.inFlight.byComponent.sorted(by: { $0.key < $1.key }) {
            w.sample(SeriesLabels([("component", component)]), Double(count))
        }
        writeDurations("component_operation_duration_seconds", "Component operation duration.",
                       bounds.componentDuration, .duration, components, labels, &w)
    }

    // The family shapes providers, endpoints and components share.

    private func writeOutcomes<W: MetricsExposition>(_ name: String, _ help: String, _ views: [SeriesView], _ labels: [SeriesLabels], _ w: inout W) {
        w.family(name, .counter, help)
        for index in views.indices {
            w.sample(labels[index], views[index].aggregate.successes, extra: #"outcome="success""#)
            w.sample(labels[index], views[index].aggregate.failures, extra: #"outcome="error""#)
        }
    }

    private func writeErrors<W: MetricsExposition>(_ name: String, _ help: String, _ views: [SeriesView], _ labels: [SeriesLabels], _ w: inout W) {
        w.family(name, .counter, help)
        for index in views.indices where !views[index].aggregate.errorTypes.isEmpty {
            for (type, count) in views[index].aggregate.errorTypes.sorted(by: { $0.key < $1.key }) {
                w.sample(labels[index], count, label: "error_type", type)
            }
        }
    }

    /// Which distribution of an aggregate a histogram family shows.
    enum Timing { case duration, timeToFirstToken }

    // The views are read in place, by index: a copy of a view (or a key path into it) retains
    // each of its containers, and that was 30 % of a large scrape.
    private func writeDurations<W: MetricsExposition>(_ name: String, _ help: String, _ bounds: [Double], _ timing: Timing,
                                _ views: [SeriesView], _ labels: [SeriesLabels], _ w: inout W) {
        w.family(name, .histogram, help, bounds: bounds)
        views.withUnsafeBufferPointer { views in
            for index in views.indices {
                switch timing {
                case .duration where !views[index].aggregate.distribution.isEmpty:
                    w.histogram(labels[index], views[index].aggregate.distribution, classic: views[index].classic.values)
                case .timeToFirstToken where !views[index].aggregate.ttft.isEmpty:
                    w.histogram(labels[index], views[index].aggregate.ttft, classic: views[index].classic.timeToFirstToken)
                default: break
                }
            }
        }
    }

    private func writeOthers<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let caches = snapshot.series[.cache] ?? []
        w.family("cache_requests_total", .counter, "Cache lookups by scope (component or provider) and result: hit or miss.")
        for view in caches {
            let series = SeriesLabels([("scope", view.key.first)])
            w.sample(series, view.aggregate.cacheHits, extra: #"result="hit""#)
            w.sample(series, view.aggregate.cacheMisses, extra: #"result="miss""#)
        }
        w.family("errors_total", .counter, "Errors reported without a provider, endpoint or component, by error type.")
        for view in snapshot.series[.errors] ?? [] {
            for (type, count) in view.aggregate.errorTypes.sorted(by: { $0.key < $1.key }) { w.sample(.none, count, label: "error_type", type) }
        }
        let metrics = snapshot.series[.metric] ?? []
        let labels = metrics.map { SeriesLabels([("name", $0.key.first)] + (MetricLabels(key: $0.key.second)?.pairs ?? [])) }
        w.family("custom_metric", .gauge, "The last value reported for each custom metric.")
        for index in metrics.indices { w.sample(labels[index], metrics[index].aggregate.lastValue) }
        w.family("custom_metric_observations_total", .counter, "Values reported for each custom metric.")
        for index in metrics.indices { w.sample(labels[index], metrics[index].aggregate.total) }
        w.family("custom_metric_sum_total", .counter, "Sum of the values reported for each custom metric.")
        for index in metrics.indices { w.sample(labels[index], metrics[index].aggregate.distribution.sum) }
        writeCustom(snapshot, &w)
        w.family("requests_in_flight", .gauge, "Requests and provider calls started and not yet ended.")
        w.sample(.none, Double(snapshot.inFlight.total))
    }

    /// Each typed custom metric as a family of its own (api.md §7), in name order: a counter's
    /// sum as `_total`, a gauge's last value, a histogram, a set's distinct members over the last
    /// 5 minutes as a gauge.
    private func writeCustom<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let catalog = store.catalog
        var typed: [SeriesView] = snapshot.recentSets
        for kind in [MetricKind.counter, .gauge, .histogram] { typed += snapshot.series[kind.seriesKind] ?? [] }
        let entries = catalog.current
        for (name, kind, views) in PerformanceQueries.customMetrics(typed) {
            let unit = entries[name]?.unit
            let family = catalog.familyName(name, kind, unit: unit)
            let help = "Custom metric \(name) (\(kind.rawValue)\(unit.map { ", unit " + $0 } ?? ""))."
            let labels = views.map { SeriesLabels(MetricLabels(key: $0.key.second)?.pairs ?? []) }
            switch kind {
            case .counter:
                w.family(family.hasSuffix("_total") ? family : family + "_total", .counter, help, prefixed: false)
                for index in views.indices { w.sample(labels[index], views[index].aggregate.valueSum) }
            case .gauge:
                w.family(family, .gauge, help, prefixed: false)
                for index in views.indices { w.sample(labels[index], views[index].aggregate.lastValue) }
            case .set:
                w.family(family, .gauge, help + " Distinct members over the last 5 minutes.", prefixed: false)
                for index in views.indices { w.sample(labels[index], Double(views[index].aggregate.distinct.count)) }
            case .histogram:
                let timed = TimeUnit(unit) != nil
                w.family(family, .histogram, help, bounds: timed ? bounds.customSeconds : bounds.custom,
                         scale: timed ? 1000 : 1, prefixed: false)
                for index in views.indices { w.histogram(labels[index], views[index].aggregate.distribution, classic: views[index].classic.values) }
            case .untyped:
                break
            }
        }
    }

    /// The StatsD listeners' lines by outcome (api.md §6.3). The store folds lines after they were
    /// taken: those are moved from `accepted` to `folded` here.
    private func writeStatsD<W: MetricsExposition>(_ status: StoreStatus, _ w: inout W) {
        let figures = statsd.current
        w.family("statsd_lines_total", .counter, "StatsD lines received, by what became of them (api.md §6.3).")
        for (outcome, lines) in Self.statsdLines(figures.tally, folded: status.foldedStatsDValues) {
            w.sample(.none, Double(lines), label: "outcome", outcome.rawValue)
        }
        w.family("statsd_tags_dropped_total", .counter, "StatsD tags dropped from lines that were kept: without a value, or past the eighth label.")
        w.sample(.none, Double(figures.tally.tagsWithoutValue), label: "reason", "no_value")
        w.sample(.none, Double(figures.tally.tagsPastLimit), label: "reason", "too_many_labels")
        w.family("statsd_udp_drops_total", .counter, "StatsD datagrams the kernel dropped for a full receive buffer (statsd_read_buffer).")
        w.sample(.none, Double(figures.udpDrops))
        w.family("statsd_tcp_connections", .gauge, "StatsD TCP connections open.")
        w.sample(.none, Double(figures.tcpConnections))
        w.family("statsd_tcp_connections_refused_total", .counter, "StatsD TCP connections closed at once: statsd_max_tcp_connections were open.")
        w.sample(.none, Double(figures.tcpRefused))
    }

    /// What the OTLP routes did with each data point and span (api.md §6.2); refusals are in `events_rejected_total`.
    private func writeOTLP<W: MetricsExposition>(_ w: inout W) {
        let figures = otlp.counters.current
        w.family("otlp_points_total", .counter, "OTLP metric data points received, by what became of them (api.md §6.2).")
        for outcome in OTLPPointOutcome.allCases { w.sample(.none, Double(figures.points[outcome]), label: "outcome", outcome.rawValue) }
        w.family("otlp_spans_total", .counter, "OTLP spans received, by what became of them (otlp_spans, otlp_genai_source).")
        for outcome in OTLPSpanOutcome.allCases { w.sample(.none, Double(figures.spans[outcome]), label: "outcome", outcome.rawValue) }
        w.family("otlp_labels_dropped_total", .counter, "OTLP attributes dropped from points that were kept: past a custom metric's eighth label.")
        w.sample(.none, Double(figures.labelsDropped))
        w.family("otlp_streams", .gauge, "Cumulative OTLP streams remembered to difference their points (otlp_max_streams).")
        w.sample(.none, Double(otlp.streams.count))
        w.family("otlp_stream_evictions_total", .counter, "Cumulative OTLP streams forgotten for room; their next point only sets a baseline.")
        w.sample(.none, Double(otlp.streams.evicted))
    }

    /// The live followers of `/performance/events` (Server-Sent Events).
    private func writeFollowers<W: MetricsExposition>(_ w: inout W) {
        let figures = followers.current
        w.family("event_followers", .gauge, "Clients following /performance/events as Server-Sent Events now.")
        w.sample(.none, Double(figures.open))
        w.family("event_followers_refused_total", .counter, "Followers of /performance/events refused (503): the maximum were open.")
        w.sample(.none, Double(figures.refused))
        w.family("event_follower_events_total", .counter, "Raw events sent to followers, and missed by them (the ring moved on before they read them).")
        w.sample(.none, Double(figures.eventsSent), label: "outcome", "sent")
        w.sample(.none, Double(figures.eventsMissed), label: "outcome", "missed")
        w.family("event_followers_ended_total", .counter, "Follower streams ended, by reason (too_slow: a client that stopped reading, cut off past 1 MiB unsent).")
        for end in ResponseStream.End.allCases { w.sample(.none, Double(figures.ended[end] ?? 0), label: "reason", end.rawValue) }
    }

    /// Remote write's samples by what became of them (api.md §8), and its queue.
    private func writeRemoteWrite<W: MetricsExposition>(_ figures: RemoteWriteQueue.Figures, capacity: Int, _ w: inout W) {
        w.family("remote_write_samples_total", .counter, "Samples pushed with remote write (a native histogram is one): sent, or retried after a 5xx, 429 or network error.")
        w.sample(.none, Double(figures.sent), label: "outcome", "sent")
        w.sample(.none, Double(figures.retried), label: "outcome", "retried")
        w.family("remote_write_samples_dropped_total", .counter, "Samples remote write gave up, by reason: queue_full (remote_write_queue_samples), rejected (a 4xx), shutdown.")
        for reason in RemoteWriteQueue.DropReason.allCases { w.sample(.none, Double(figures.dropped[reason] ?? 0), label: "reason", reason.rawValue) }
        w.family("remote_write_failed_attempts_total", .counter, "Remote write requests that failed and were tried again.")
        w.sample(.none, Double(figures.failedAttempts))
        w.family("remote_write_queue_samples", .gauge, "Samples waiting in the remote write queue.")
        w.sample(.none, Double(figures.queuedSamples))
        w.family("remote_write_queue_capacity_samples", .gauge, "Samples the remote write queue holds at most (remote_write_queue_samples).")
        w.sample(.none, Double(capacity))
        if let last = figures.lastSuccessAt {
            w.family("remote_write_last_success_timestamp_seconds", .gauge, "When a remote write request was last delivered, in Unix seconds.")
            w.sample(.none, last)
        }
    }

    /// Lines by outcome, `folded` (values the store folded) taken out of `accepted`.
    public static func statsdLines(_ tally: StatsDTally, folded: Int) -> [(StatsDOutcome, Int)] {
        let movable = Swift.min(folded, tally[.accepted])
        return StatsDOutcome.allCases.map { outcome in
            switch outcome {
            case .accepted: (outcome, tally[outcome] - movable)
            case .folded: (outcome, movable)
            default: (outcome, tally[outcome])
            }
        }
    }

    private func writeDaemon<W: MetricsExposition>(_ snapshot: Snapshot, _ w: inout W) {
        let status = snapshot.status
        let refusals = serverRefusals()
        let tooLarge = refusals.tooLargeByPath
        let routes = IngestCounters.Route.allCases.map { (route: $0, labels: SeriesLabels([("route", $0.rawValue)]), totals: counters.totals($0)) }
        w.family("events_received_total", .counter, "Events accepted, by way in (route=litellm: LiteLLM payloads).")
        for (_, labels, totals) in routes { w.sample(labels, Double(totals.acceptedEvents)) }
        w.family("events_rejected_total", .counter, "Events (LiteLLM: payloads) refused, by way in and reason.")
        for (_, labels, totals) in routes {
            for reason in IngestCounters.Reason.allCases {
                w.sample(labels, Double(totals.rejectedEvents[reason] ?? 0), label: "reason", reason.rawValue)
            }
        }
        w.family("ingest_requests_rejected_total", .counter, "Ingest requests refused whole, by way in and reason.")
        for (route, labels, totals) in routes {
            for reason in IngestCounters.Reason.allCases {
                w.sample(labels, Double(totals.rejectedRequests[reason] ?? 0), label: "reason", reason.rawValue)
            }
            w.sample(labels, Double(tooLarge[route.path] ?? 0), extra: #"reason="too_large""#)
        }
        w.family("http_requests_refused_total", .counter, "Requests the HTTP server refused for their head (framing per RFC 9112, too many query parameters), by reason; the connection is closed.")
        for reason in ServerRefusals.framingReasons { w.sample(.none, Double(refusals.framing[reason] ?? 0), label: "reason", reason) }
        w.family("http_connections_closed_total", .counter, "Connections closed while waiting for a request: the peer had gone, no complete request head within connection_timeout, or shed near connection_limit.")
        for reason in ServerRefusals.closedWaitingReasons { w.sample(.none, Double(refusals.closedWaiting[reason] ?? 0), label: "reason", reason) }
        w.family("http_library_refusals_total", .counter,
                 "Requests libmicrohttpd refused itself before perfmond saw them (malformed Content-Length, target or head too large, unknown HTTP version, bad chunks), by status.")
        for status in refusals.libraryStatusesShown { w.sample(.none, Double(refusals.byLibrary[status] ?? 0), label: "status", String(status)) }
        w.family("litellm_queue_wait_seconds", .histogram, "Time LiteLLM batches waited for room in a full ingest queue (litellm_queue_wait).",
                 bounds: Self.queueWaitBuckets)
        w.histogram(.none, queueWaits.distribution, classic: ClassicCounts())
        w.family("http_unauthorized_total", .counter, "Requests refused 401 for a missing or wrong bearer token, by the access asked for.")
        let refused = access.refusedByAccess
        for kind in AccessPolicy.Access.allCases where kind != .open {
            w.sample(.none, Double(refused[kind] ?? 0), label: "access", kind.rawValue)
        }
        writeStatsD(status, &w)
        writeOTLP(&w)
        writeFollowers(&w)
        if let remoteWrite { writeRemoteWrite(remoteWrite.current, capacity: remoteWrite.capacity, &w) }
        w.family("ingest_queue_depth", .gauge, "Events accepted and waiting to be applied by the store.")
        w.sample(.none, Double(buffer.depth))
        w.family("ingest_queue_capacity", .gauge, "Events the ingest queue holds at most (ingest_queue_capacity).")
        w.sample(.none, Double(buffer.capacity))
        w.family("series", .gauge, "Series held by the store, by kind.")
        for kind in SeriesKind.allCases { w.sample(.none, Double(status.seriesByKind[kind] ?? 0), label: "kind", kind.rawValue) }
        w.family("series_folded_total", .counter, "Events whose label value was folded into __other__ by a cardinality limit, by dimension.")
        for (dimension, count) in status.foldedByDimension.sorted(by: { $0.key < $1.key }) { w.sample(.none, count, label: "dimension", dimension) }
        w.family("custom_metric_series_folded_total", .counter, "Custom metric events whose label set folded into {__other__=\"true\"} past max_series_per_metric or max_custom_series, by metric.")
        for (metric, count) in status.foldedByMetric.sorted(by: { $0.key < $1.key }) { w.sample(.none, count, label: "metric", metric) }
        w.family("custom_metric_events_dropped_total", .counter, "Custom metric events dropped when applied: their name took another kind in a concurrent request.")
        w.sample(.none, Double(status.droppedMetricEvents))
        w.family("series_removed_total", .counter, "Series removed after a retention without events.")
        w.sample(.none, Double(status.removedSeries))
        w.family("requests_abandoned_total", .counter, "Starts whose end did not arrive within request_timeout.")
        w.sample(.none, Double(status.abandonedRequests + status.abandonedProviderCalls))
        w.family("request_starts_dropped_total", .counter, "Starts refused because max_open_requests were already waiting.")
        w.sample(.none, Double(status.droppedStarts))
        w.family("request_ends_unmatched_total", .counter, "request_end events with neither a known start nor an endpoint.")
        w.sample(.none, Double(status.unmatchedEnds))
        let firing = alertEngine.snapshot.firing
        w.family("alerts_firing", .gauge, "Alerts firing, by severity.")
        for severity in Severity.allCases {
            w.sample(.none, Double(firing.filter { $0.severity == severity }.count), label: "severity", severity.rawValue)
        }
        w.family("alert_notifications_total", .counter, "Alert batches per sink: delivered, failed after the retries, or dropped by a full queue.")
        for (sink, counts) in dispatcher.current.sorted(by: { $0.key < $1.key }) {
            let series = SeriesLabels([("sink", sink)])
            w.sample(series, Double(counts.delivered), extra: #"result="delivered""#)
            w.sample(series, Double(counts.failed), extra: #"result="failed""#)
            w.sample(series, Double(counts.dropped), extra: #"result="dropped""#)
        }
        if let sample = monitor.latest {
            w.family("memory_pressure_ratio", .gauge, "Memory used ÷ the cgroup limit (or the host's memory), sampled every collection interval.")
            w.sample(.none, sample.memory.pressurePercent / 100)
            w.family("heap_used_bytes", .gauge, "Bytes allocated with malloc and in use (glibc mallinfo2), sampled.")
            w.sample(.none, sample.memory.heapUsedBytes)
            w.family("cpu_usage_ratio", .gauge, "CPU used over the last collection interval, in cores.")
            w.sample(.none, sample.cpuPercent / 100)
        }
        let reloads = live.reloads
        w.family("config_reloads_total", .counter, "SIGHUP reloads of the configuration file, by result.")
        w.sample(.none, Double(reloads.succeeded), label: "result", "success")
        w.sample(.none, Double(reloads.failed), label: "result", "failure")
        w.family("config_last_reload_successful", .gauge, "1 when the last reload (or the start) read a valid configuration, else 0.")
        w.sample(.none, reloads.lastSucceeded ? 1 : 0)
        let persistence = snapshots.current
        w.family("snapshot_writes_total", .counter, "Snapshots of the store written to state_file, by result.")
        w.sample(.none, Double(persistence.writes), label: "result", "success")
        w.sample(.none, Double(persistence.failures), label: "result", "failure")
        if let last = persistence.lastSuccessAt {
            w.family("snapshot_last_success_timestamp_seconds", .gauge, "When the last snapshot was written, in Unix seconds.")
            w.sample(.none, last)
            w.family("snapshot_size_bytes", .gauge, "Size of the last snapshot written.")
            w.sample(.none, Double(persistence.lastBytes))
        }
        w.family("build_info", .gauge, "perfmond's version, as labels; always 1.")
        w.sample(.none, 1, label: "version", PerfmondVersion.current)
        w.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
        w.sample(.none, ProcessStats.residentBytes())
        w.family("process_cpu_seconds_total", .counter, "User and system CPU time spent in seconds.")
        w.sample(.none, ProcessStats.cpuSeconds())
        w.family("process_start_time_seconds", .gauge, "Start time of the process since the Unix epoch in seconds.")
        w.sample(.none, startedAt)
    }
}

/// A size remembered from one scrape to the next (shared by the copies of the route).
final class SizeHint: Sendable {
    let bytes = Atomic<Int>(1 << 16)
}

/// The version perfmond reports (`build_info`, `--version`).
public enum PerfmondVersion {
    public static let current = "0.1.0"
}
