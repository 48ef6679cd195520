import MicroHTTPD
import PerfMonitor

/// The daemon's effective configuration. The defaults here are the documented ones and
/// `Config/perfmond.yaml` repeats them (a test keeps the two equal); the server's are the HTTP
/// wrapper's own, not written again here.
public struct DaemonConfiguration: Sendable, Equatable {
    private static let server = ServerConfiguration.defaults
    public var host = server.host
    public var port = 9470
    /// Server threads; 0 means one per core.
    public var threads = server.threads
    public var maxBodyBytes = server.maxBodyBytes
    public var connectionLimit = server.connectionLimit
    /// libmicrohttpd's memory per connection (`connection_memory`): larger reads of large bodies.
    public var connectionMemoryBytes = server.connectionMemoryBytes
    public var connectionTimeout = TimeSpan.seconds(Int64(server.connectionTimeoutSeconds))
    /// How long a stop waits for requests in flight before it closes their connections.
    public var shutdownGracePeriod = TimeSpan.seconds(5)
    public var logLevel = LogLevelName.info
    /// Events waiting between the server threads and the store; past it `POST /events` gets `429`.
    public var ingestQueueCapacity = 200_000
    /// `POST /ingest/litellm`: its body limit (read as a stream, never held), how long a batch
    /// waits for room in a full queue before `503`, and which payload member names the model.
    public var litellm = LiteLLMConfiguration()
    /// `POST /v1/metrics` and `/v1/traces` (api.md §6.2): the inflated body limit and the mapping's options.
    public var otlp = OTLPConfiguration()
    /// The StatsD and DogStatsD listeners (api.md §6.3): off unless `statsd_listen` names an address.
    public var statsd = StatsDConfiguration()
    /// Intervals, retention and limits of the in-memory store.
    public var store = StoreConfiguration()
    /// Remote write (`remote_write_*`): off by default.
    public var remoteWrite = RemoteWriteConfiguration()
    /// This instance's `instance` label in remote write ("": the host name).
    public var instanceName = ""
    /// Names and histogram buckets of `/metrics`.
    public var metrics = MetricsConfiguration()
    /// The alert file, webhook and Alertmanager.
    public var alertSinks = AlertSinkConfiguration()
    /// Alert rules (seed 002's table by default); a list in the file, JSON in `PERFMOND_ALERT_THRESHOLDS`.
    public var alertThresholds = AlertThreshold.defaults
    /// The recommendations' rules and targets (seed 000's by default); a list in the file, JSON in `PERFMOND_RECOMMENDATION_RULES`.
    public var recommendationRules = RecommendationRule.defaults
    /// The degradation alert (seed 000): on, a p95 1.5 times that of the hour before the last 5 minutes.
    public var degradation = DegradationAlert()
    /// Where the store's snapshot is kept across restarts; "" keeps nothing.
    public var stateFile = ""
    /// How often the snapshot is written (and at shutdown): what a `kill -9` can lose at most.
    public var snapshotInterval = TimeSpan.seconds(60)
    /// Bearer tokens per class of endpoint.
    public var access = AccessConfiguration()
    public var tls = TLSConfiguration()

    public init() {}
}

/// How `POST /ingest/litellm` reads LiteLLM's batches (api.md §6.1).
public struct LiteLLMConfiguration: Sendable, Equatable {
    public var maxBodyBytes = 64 << 20
    public var queueWait = TimeSpan.seconds(5)
    public var modelField = LiteLLMMapping.ModelField.model

    public init() {}
}

/// How the OTLP/HTTP routes read OpenTelemetry's metrics and spans (api.md §6.2).
public struct OTLPConfiguration: Sendable, Equatable {
    /// Counted after decompression: a gzip body that inflates past it is refused `413`.
    public var maxBodyBytes = 16 << 20
    public var options = OTLPOptions()

    public init() {}
}

/// The StatsD listeners (UDP and TCP on one address) and the mapping of their lines.
public struct StatsDConfiguration: Sendable, Equatable {
    /// `host:port` (`[::1]:8125` for IPv6); "" listens for nothing. The shipped file sets
    /// `127.0.0.1:8125`, the built-in default stays off.
    public var listen = ""
    /// The UDP socket's receive buffer: what absorbs a burst while the listener catches up.
    public var readBufferBytes = 8 << 20
    public var maxTCPConnections = 256
    public var mappings = StatsDMapping.none

    public init() {}

    /// `listen` split into host and port; nil when off.
    public var address: (host: String, port: Int)? { Self.address(listen) }

    /// `host:port`, `[v6]:port`: nil for "" or anything else.
    public static func address(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) } else if host.contains(":") { return nil }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}

/// swift-log's levels by the names operators write in configuration.
public enum LogLevelName: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
