/// One alert: a threshold (or the degradation rule) holding for one series or for the process.
public struct Alert: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, firing, resolved
    }

    /// Stable for the same rule and series: `<metric>:<severity>:<threshold>:<scope>`.
    public let id: String
    public let metric: AlertMetric
    /// The series it is about (`provider`/`model`, `endpoint`/`method`, `component`/`operation`,
    /// `metric`); empty for the process.
    public let scope: [(String, String)]
    public var state: State
    public let severity: Severity
    public var currentValue: Double
    public let threshold: Double
    public let comparison: AlertThreshold.Comparison
    public var message: String
    /// When the condition began to hold (pending), or when it fired.
    public var since: Double
    public var resolvedAt: Double?

    public init(id: String, metric: AlertMetric, scope: [(String, String)], state: State, severity: Severity,
                currentValue: Double, threshold: Double, comparison: AlertThreshold.Comparison, message: String,
                since: Double, resolvedAt: Double?) {
        self.id = id
        self.metric = metric
        self.scope = scope
        self.state = state
        self.severity = severity
        self.currentValue = currentValue
        self.threshold = threshold
        self.comparison = comparison
        self.message = message
        self.since = since
        self.resolvedAt = resolvedAt
    }

    /// Seed 002's string form: `[warning] High memory pressure detected (85.5%)`.
    public var text: String { "[\(severity.rawValue)] \(message)" }

    public static func == (lhs: Alert, rhs: Alert) -> Bool {
        lhs.id == rhs.id && lhs.state == rhs.state && lhs.currentValue == rhs.currentValue && lhs.since == rhs.since
            && lhs.resolvedAt == rhs.resolvedAt && lhs.message == rhs.message
    }
}

extension Alert {
    /// Where it is, in one word for people: `openai/gpt-4o`, `/v1/chat/POST`, or `perfmond`.
    public var component: String { scope.isEmpty ? "perfmond" : scope.map(\.1).joined(separator: "/") }
}

/// What `/performance/alerts` shows.
public struct AlertSnapshot: Sendable {
    public var firing: [Alert] = []
    /// The bounded history, newest first: firing and resolved.
    public var recent: [Alert] = []

    /// `critical` when a critical alert fires, `degraded` when a warning or error one does.
    public var systemHealth: String { Self.health(of: firing) }

    /// A provider's health (seed 002): the same words, from the alerts scoped to it alone.
    public func health(ofProvider provider: String) -> String {
        Self.health(of: firing.filter { alert in alert.scope.contains { $0 == ("provider", provider) } })
    }

    private static func health(of alerts: [Alert]) -> String {
        if alerts.contains(where: { $0.severity == .critical }) { return "critical" }
        if alerts.contains(where: { $0.severity == .warning || $0.severity == .error }) { return "degraded" }
        return "healthy"
    }
}
