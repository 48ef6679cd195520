import PerfMonitor

/// Where alerts go besides `/performance/alerts`; every sink is off until configured.
public struct AlertSinkConfiguration: Sendable, Equatable {
    /// A JSON-lines file; "" is off.
    public var file = ""
    /// Past this the file is renamed `<file>.1` and a new one begun.
    public var fileMaxBytes = 10 << 20
    /// A URL to POST alert transitions to as JSON; "" is off.
    public var webhookURL = ""
    public var webhookTimeout = TimeSpan.seconds(5)
    /// Further attempts after a failed delivery (webhook and Alertmanager), with doubling backoff from 1 s.
    public var retries = 3
    /// Alertmanager's base URL (`http://alertmanager:9093`); "" is off.
    public var alertmanagerURL = ""

    public init() {}

    /// An http(s) URL, or "" for off.
    static func isURL(_ text: String) -> Bool {
        text.isEmpty || ((text.hasPrefix("http://") || text.hasPrefix("https://")) && text.count > 8 && !text.contains(" "))
    }
}
