import Foundation
import PerfJSON
import PerfMonitor
import PerfmondAPI
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs `body` as JSON to `url`; anything but a 2xx answer is an error (and will be retried).
func post(_ body: JSONValue, to url: URL, timeout: Duration) async throws {
    var request = URLRequest(url: url, timeoutInterval: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.httpBody = Data(body.rendered.utf8)
    let (_, response) = try await URLSession.shared.data(for: request)
    guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
        throw AlertDeliveryError("\(url) answered \((response as? HTTPURLResponse)?.statusCode ?? 0)")
    }
}

/// A generic JSON webhook: `{"source": "perfmond", "alerts": [...]}` with the transitions, in the
/// shape `/performance/alerts` uses.
public struct WebhookSink: AlertSink {
    public let url: URL
    public let timeout: Duration
    public var name: String { "webhook" }

    public init(url: URL, timeout: Duration) {
        self.url = url
        self.timeout = timeout
    }

    public func wants(_ batch: AlertBatch) -> Bool { !batch.transitions.isEmpty }

    public func deliver(_ batch: AlertBatch) async throws {
        try await post(.object([("source", .string("perfmond")), ("alerts", .array(batch.transitions.map(\.json)))]), to: url, timeout: timeout)
    }
}

/// Prometheus Alertmanager's v2 API (`POST /api/v2/alerts`): firing alerts without `endsAt`,
/// resolved ones with it. Firing alerts are sent again at least every `resendInterval` seconds,
/// as Prometheus does, or Alertmanager would resolve them on its own after its resolve_timeout.
public final class AlertmanagerSink: AlertSink {
    public let url: URL
    public let timeout: Duration
    public let resendInterval: Double
    private let lastSent = Mutex<Double>(-.infinity)
    public var name: String { "alertmanager" }

    public init(baseURL: URL, timeout: Duration, resendInterval: Double = 60) {
        self.url = baseURL.appendingPathComponent("api/v2/alerts")
        self.timeout = timeout
        self.resendInterval = resendInterval
    }

    public func wants(_ batch: AlertBatch) -> Bool {
        !batch.transitions.isEmpty || (!batch.firing.isEmpty && lastSent.withLock { batch.time - $0 >= resendInterval })
    }

    public func deliver(_ batch: AlertBatch) async throws {
        let resolved = batch.transitions.filter { $0.state == .resolved }
        let alerts = (batch.firing + resolved).map { alert -> JSONValue in
            var labels: [(String, JSONValue)] = [("alertname", .string(Self.alertName(alert.metric.name))), ("severity", .string(alert.severity.rawValue)),
                                                 ("metric", .string(alert.metric.name)), ("source", .string("perfmond"))]
            labels += alert.scope.map { ($0.0, JSONValue.string($0.1)) }
            var members: [(String, JSONValue)] = [
                ("labels", .object(labels)),
                ("annotations", .object([("summary", .string(alert.message)), ("current_value", .string(JSONNumber.rounded(alert.currentValue)))])),
                ("startsAt", .string(RFC3339.format(alert.since))),
            ]
            if let resolvedAt = alert.resolvedAt { members.append(("endsAt", .string(RFC3339.format(resolvedAt)))) }
            return .object(members)
        }
        try await post(.array(alerts), to: url, timeout: timeout)
        lastSent.withLock { $0 = batch.time }
    }

    /// `response_time_ms` → `PerfmondResponseTimeMs`.
    static func alertName(_ metric: String) -> String {
        "Perfmond" + metric.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
