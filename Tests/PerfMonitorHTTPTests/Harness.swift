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
/// on a real server on port 0, with a store clock the test moves by hand.
final class Harness: Sendable {
    let clock = ManualClock()
    let buffer: IngestBuffer
    let store: MetricsStore
    let counters = IngestCounters()
    let readiness = Readiness()
    let rules = AlertRules(AlertThreshold.defaults)
    let monitor = SystemMonitor(retention: .seconds(86_400), interval: .seconds(5))
    let alertEngine: AlertEngine
    let access: AccessPolicy
    let live: LiveConfiguration
    let server: HTTPServer

    init(queueCapacity: Int = 200_000, maxBodyBytes: Int = 1 << 20, metrics: MetricsConfiguration = MetricsConfiguration(),
         accessControl: AccessConfiguration = AccessConfiguration()) throws {
        buffer = IngestBuffer(capacity: queueCapacity)
        store = MetricsStore(clock: clock, buffer: buffer)
        alertEngine = AlertEngine(rules: rules, store: store, monitor: monitor, clock: clock)
        access = AccessPolicy(accessControl)
        var configuration = DaemonConfiguration()
        configuration.access = accessControl
        live = LiveConfiguration(configuration, filePath: nil, startedAt: 1_700_000_000)
        let snapshots = SnapshotStatus()
        var router = Router()
        access.register(in: &router)
        HealthRoutes.register(in: &router, readiness: readiness)
        IngestRoute(buffer: buffer, decoder: EventDecoder(maxAgeSeconds: 86_400), clock: clock, readiness: readiness, counters: counters)
            .register(in: &router)
        PerformanceQueries(store: store, live: live, rules: rules, monitor: monitor,
                           alertEngine: alertEngine, counters: counters,
                           buffer: buffer, bodiesTooLarge: { 0 }, snapshots: snapshots, clock: clock, startedAt: clock.now())
            .register(in: &router)
        MetricsRoute(store: store, configuration: metrics, counters: counters, buffer: buffer, bodiesTooLarge: { 0 },
                     monitor: monitor, alertEngine: alertEngine,
                     dispatcher: AlertDispatcher(sinks: [], logger: Logger(label: "test")), access: access, live: live,
                     snapshots: snapshots, startedAt: 1_700_000_000)
            .register(in: &router)
        GrafanaDashboards.register(in: &router)
        server = HTTPServer(configuration: ServerConfiguration(maxBodyBytes: maxBodyBytes), router: router, logger: Logger(label: "test"))
        try server.start()
        readiness.enter(.serving)
    }

    /// Posts a body to /events as it is.
    func post(_ body: String, contentType: String? = "application/json") async throws -> HTTPReply {
        let port = server.port
        return try await onThread {
            try RawHTTPClient(port: port).request("POST", "/events", headers: contentType.map { [("Content-Type", $0)] } ?? [], body: Array(body.utf8))
        }
    }

    /// Posts NDJSON lines; every event must be accepted.
    func post(_ lines: [String]) async throws {
        let reply = try await post(lines.joined(separator: "\n"), contentType: "application/x-ndjson")
        #expect(reply.status == 202, "\(reply.text)")
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPReply {
        let port = server.port
        return try await onThread { try RawHTTPClient(port: port).get(target, headers: headers) }
    }

    func request(_ method: String, _ target: String, body: String, headers: [(String, String)] = []) async throws -> HTTPReply {
        let port = server.port
        return try await onThread {
            try RawHTTPClient(port: port).request(method, target, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
        }
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

    func stop() async { await server.shutdown() }
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
