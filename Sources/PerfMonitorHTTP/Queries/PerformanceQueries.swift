import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfmondConfig

/// The JSON query API under `/performance/` (api.md §2), with the short aliases. Every answer
/// comes from the store after it has drained the ingest buffer, so it counts every event whose
/// `POST` was answered before the query began.
public struct PerformanceQueries: Sendable {
    public let store: MetricsStore
    /// The running configuration (SIGHUP changes some of it).
    public let live: LiveConfiguration
    public let rules: AlertRules
    public let monitor: SystemMonitor
    public let alertEngine: AlertEngine
    public let counters: IngestCounters
    public let buffer: IngestBuffer
    /// Requests refused `413` by the server, read when asked.
    /// What the HTTP server refused before any route (413s by path, framing problems).
    public let serverRefusals: @Sendable () -> ServerRefusals
    /// The store's clock: every time in an answer (timestamps, `since`, uptime) is on it.
    public let clock: any StoreClock
    public let startedAt: Double
    public let snapshots: SnapshotStatus
    /// What the StatsD listeners received (zeros while they are off).
    public let statsd: StatsDCounters
    /// What the OTLP routes did with what they received.
    public let otlp: OTLPFigures
    /// The live followers of `/performance/events`.
    public let followers: EventFollowers
    /// Remote write's queue and counts (nil while remote write is off).
    public let remoteWrite: RemoteWriteQueue?

    public init(store: MetricsStore, live: LiveConfiguration, rules: AlertRules,
                monitor: SystemMonitor, alertEngine: AlertEngine, counters: IngestCounters, buffer: IngestBuffer, serverRefusals: @escaping @Sendable () -> ServerRefusals,
                snapshots: SnapshotStatus, clock: any StoreClock, startedAt: Double, statsd: StatsDCounters = StatsDCounters(),
                otlp: OTLPFigures = OTLPFigures(), followers: EventFollowers = EventFollowers(),
                remoteWrite: RemoteWriteQueue? = nil) {
        self.remoteWrite = remoteWrite
        self.otlp = otlp
        self.followers = followers
        self.store = store
        self.statsd = statsd
        self.live = live
        self.snapshots = snapshots
        self.rules = rules
        self.monitor = monitor
        self.alertEngine = alertEngine
        self.counters = counters
        self.buffer = buffer
        self.serverRefusals = serverRefusals
        self.clock = clock
        self.startedAt = startedAt
    }

    var configuration: DaemonConfiguration { live.current }
    var retention: TimeSpan { configuration.store.retention }

    /// A JSON answer with the `timestamp` every answer carries, first.
    func answer(_ members: [(String, JSONValue)]) -> Response {
        .json(JSONValue.object([("timestamp", .double(clock.now()))] + members).renderedBytes)
    }

    /// The paths with a short alias at the root as well (api.md §2).
    static let aliased: Set<String> = ["real-time", "providers", "endpoints", "components", "memory", "alerts", "config"]

    public func register(in routes: inout Routes) {
        route(&routes, "GET", "real-time", realTime)
        route(&routes, "GET", "providers", providers)
        route(&routes, "GET", "endpoints", endpoints)
        route(&routes, "GET", "components", components)
        route(&routes, "GET", "compare", compare)
        route(&routes, "GET", "memory", memory)
        route(&routes, "GET", "alerts", alerts)
        route(&routes, "GET", "config", config)
        route(&routes, "POST", "config", access: .admin, updateConfig)
        route(&routes, "PUT", "config/thresholds/{id}", access: .admin, putThreshold)
        route(&routes, "DELETE", "config/thresholds/{id}", access: .admin, deleteThreshold)
        route(&routes, "GET", "recommendations", recommendations)
        route(&routes, "GET", "caches", caches)
        route(&routes, "GET", "report", report)
        route(&routes, "GET", "export", export)
        route(&routes, "GET", "events", events)
        route(&routes, "GET", "metrics", metrics)
        route(&routes, "GET", "/dashboard", access: .pageOrData, dashboard)
    }

    private func route(_ routes: inout Routes, _ method: String, _ name: String, access: RouteAccess = .read,
                       _ body: @escaping @Sendable (Request) async throws(QueryFailure) -> Response) {
        let handler = Router.Handler.async { request in
            do throws(QueryFailure) {
                return try await body(request)
            } catch {
                return error.response
            }
        }
        // A name starting with "/" is a path of its own, outside /performance/.
        guard !name.hasPrefix("/") else { return routes.add(method, name, access: access, handler: handler) }
        routes.add(method, "/performance/\(name)", access: access, handler: handler)
        if Self.aliased.contains(name) { routes.add(method, "/\(name)", access: access, handler: handler) }
    }
}
