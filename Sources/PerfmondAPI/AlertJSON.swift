import PerfJSON
import PerfMonitor

extension Alert {
    /// As `/performance/alerts` shows it (api.md §2) and the webhook sends it.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("metric", .string(metric.name)),
            ("scope", .object(scope.map { ($0.0, JSONValue.string($0.1)) })),
            ("state", .string(state.rawValue)), ("severity", .string(severity.rawValue)),
            ("current_value", .double(currentValue)), ("threshold", .double(threshold)), ("comparison", .string(comparison.rawValue)),
            ("message", .string(message)), ("since", .double(since)),
        ]
        if let resolvedAt { members.append(("resolved_at", .double(resolvedAt))) }
        return .object(members)
    }
}
