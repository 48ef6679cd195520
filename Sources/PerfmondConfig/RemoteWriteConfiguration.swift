import PerfMonitor

/// Where and how perfmond pushes its series with Prometheus remote write 1.0 (api.md §8), for
/// instances no Prometheus can scrape. Off while `url` is empty.
public struct RemoteWriteConfiguration: Sendable, Equatable {
    /// The receiver's write endpoint (Prometheus `/api/v1/write`, Mimir `/api/v1/push`, …).
    public var url = ""
    public var interval = TimeSpan.seconds(15)
    /// How long one request may take before it counts as a network error (and is retried).
    public var timeout = TimeSpan.seconds(10)
    /// A file holding the bearer token, read at every request (so that a rotated token is used).
    public var bearerTokenFile = ""
    public var basicAuthUser = ""
    /// A file holding the basic auth password, read at every request.
    public var basicAuthPasswordFile = ""
    /// A PEM bundle to verify the receiver's certificate with, instead of the system's.
    public var caFile = ""
    public var tlsVerify = true
    /// Samples queued at most; past it the oldest requests are dropped and counted.
    public var queueSamples = 500_000

    public init() {}

    public var isEnabled: Bool { !url.isEmpty }
}
