import AlertSinks
import Foundation
import Logging
import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfMonitorHTTP
import PerfmondConfig
import Testing
import TestSupport

/// The daemon's routes — ingest, the queries, /metrics, the dashboard — wired as in `perfmond`,
/// with a store clock the test moves by hand. Requests go to the router without a socket, or,
/// with `live: true`, to a real server on port 0 (for what only the server does: body limits,
/// many clients, HEAD); a live harness is used through `withLiveHarness`, which always stops it.
final class Harness: Sendable {
    let clock = ManualClock()
    let buffer: IngestBuffer
    let store: MetricsStore
    let counters = IngestCounters()
    let queueWaits = QueueWaits()
    let readiness = Readiness()
    let rules = AlertRules(AlertThreshold.defaults)
    let monitor = SystemMonitor(retention: .seconds(86_400), interval: .seconds(5))
    let alertEngine: AlertEngine
    let access: AccessPolicy
    let live: LiveConfiguration
    let router: Router
    /// The `/metrics` route (remote write builds its pushes with it).
    let metricsRoute: MetricsRoute
    /// The real server, for a live harness.
    let server: HTTPServer?

    init(live isLive: Bool = false, queueCapacity: Int = 200_000, maxBodyBytes: Int = 1 << 20,
         metrics: MetricsConfiguration = MetricsConfiguration(), accessControl: AccessConfiguration = AccessConfiguration(),
         storeConfiguration: StoreConfiguration = StoreConfiguration(), litellmQueueWait: TimeSpan = .seconds(5),
         recommendationRules: [RecommendationRule] = RecommendationRule.defaults, remoteWrite: RemoteWriteQueue? = nil) throws {
        buffer = IngestBuffer(capacity: queueCapacity)
        let catalog = MetricCatalog(maxNames: storeConfiguration.limits.customMetrics, familyPrefix: metrics.customPrefix, builtinPrefix: metrics.prefix)
        store = MetricsStore(configuration: storeConfiguration, clock: clock, buffer: buffer, catalog: catalog)
        alertEngine = AlertEngine(rules: rules, store: store, monitor: monitor, clock: clock)
        access = AccessPolicy(accessControl)
        var configuration = DaemonConfiguration()
        configuration.access = accessControl
        configuration.recommendationRules = recommendationRules
        live = LiveConfiguration(configuration, filePath: nil, startedAt: 1_700_000_000)
        let snapshots = SnapshotStatus()
        var routes = Routes()
        HealthRoutes.register(in: &routes, readiness: readiness)
        let decoder = EventDecoder(maxAgeSeconds: 86_400, catalog: catalog)
        IngestRoute(buffer: buffer, decoder: decoder, clock: clock, readiness: readiness, counters: counters)
            .register(in: &routes)
        LiteLLMRoute(buffer: buffer, decoder: decoder, mapping: LiteLLMMapping(), clock: clock, readiness: readiness, counters: counters,
                     maxBodyBytes: 64 << 20, queueWait: litellmQueueWait, waits: queueWaits)
            .register(in: &routes)
        PerformanceQueries(store: store, live: live, rules: rules, monitor: monitor,
                           alertEngine: alertEngine, counters: counters,
                           buffer: buffer, serverRefusals: { ServerRefusals() }, snapshots: snapshots, clock: clock, startedAt: clock.now(),
                           remoteWrite: remoteWrite)
            .register(in: &routes)
        metricsRoute = MetricsRoute(store: store, configuration: metrics, counters: counters, buffer: buffer, serverRefusals: { ServerRefusals() },
                     monitor: monitor, alertEngine: alertEngine,
                     dispatcher: AlertDispatcher(sinks: [], logger: Logger(label: "test")), access: access, live: live,
                     snapshots: snapshots, startedAt: 1_700_000_000, queueWaits: queueWaits, remoteWrite: remoteWrite)
        metricsRoute.register(in: &routes)
        GrafanaDashboards.register(in: &routes)
        let router = access.router(for: routes)
        self.router = router
        server = isLive ? HTTPServer(configuration: ServerConfiguration(maxBodyBytes: maxBodyBytes), router: router, logger: Logger(label: "test")) : nil
        try server?.start()
        readiness.enter(.serving)
    }

    /// One request, through the live server or straight to the router.
    func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws -> HTTPReply {
        guard let port = server?.port else { return await router.reply(method, target, headers: headers, body: body) }
        return try await onThread { try RawHTTPClient(port: port).request(method, target, headers: headers, body: body) }
    }

    /// Posts a body to /events as it is.
    func post(_ body: String, contentType: String? = "application/json") async throws -> HTTPReply {
        try await send("POST", "/events", headers: contentType.map { [("Content-Type", $0)] } ?? [], body: Array(body.utf8))
    }

    /// Posts NDJSON lines; every event must be accepted.
    func post(_ lines: [String]) async throws {
        let reply = try await post(lines.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(reply.status == 202, "\(reply.text)")
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPReply {
        try await send("GET", target, headers: headers)
    }

    func request(_ method: String, _ target: String, body: String, headers: [(String, String)] = []) async throws -> HTTPReply {
        try await send(method, target, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    /// The answer at `target` as JSON (checking it is a 200 with a timestamp and no `null`, api.md §0).
    func json(_ target: String) async throws -> JSONValue {
        let reply = try await get(target)
        #expect(reply.status == 200, "\(target): \(reply.text)")
        let value = try JSONParser.parse(reply.body)
        #expect(value["timestamp"] != nil)
        #expect(nullPaths(in: value).isEmpty, "\(target) answers null at \(nullPaths(in: value))")
        return value
    }

    /// Total calls across all provider series.
    func providerTotal() async -> Double {
        await store.series(.provider).reduce(0) { $0 + $1.aggregate.total }
    }

    func stop() async { await server?.shutdown() }
}

/// Where `value` holds a `null`, as dotted paths (`persistence.last_write`, `alerts.0`).
func nullPaths(in value: JSONValue, at path: String = "") -> [String] {
    switch value {
    case .null: [path]
    case let .array(items): items.enumerated().flatMap { nullPaths(in: $1, at: path.isEmpty ? "\($0)" : "\(path).\($0)") }
    case let .object(members): members.flatMap { nullPaths(in: $1, at: path.isEmpty ? $0 : "\(path).\($0)") }
    case .bool, .number, .string: []
    }
}

/// Runs `body` with a live harness and stops its server afterwards, whether `body` returns or throws.
func withLiveHarness<T>(queueCapacity: Int = 200_000, maxBodyBytes: Int = 1 << 20, accessControl: AccessConfiguration = AccessConfiguration(),
                        _ body: (Harness) async throws -> T) async throws -> T {
    try await withStopping(try Harness(live: true, queueCapacity: queueCapacity, maxBodyBytes: maxBodyBytes, accessControl: accessControl),
                           { await $0.stop() }, body)
}
