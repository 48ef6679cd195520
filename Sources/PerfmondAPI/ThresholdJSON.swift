import PerfJSON
import PerfMonitor

/// Thresholds as the configuration file, `PERFMOND_ALERT_THRESHOLDS` and `/performance/config`
/// write them: read as a whole set, every problem named with its place, and shown back.
extension AlertThreshold {
    /// Reads a whole set, or lists every problem in it (`alert_thresholds[2].severity: …`).
    public static func parseSet(_ value: JSONValue, path: String = "alert_thresholds") -> Result<[AlertThreshold], ThresholdProblems> {
        guard case let .array(items) = value else {
            return .failure(ThresholdProblems(["\(path): expected a list of thresholds, got \(value.quoted)"]))
        }
        var thresholds: [AlertThreshold] = []
        var problems: [String] = []
        if items.count > maxCount { problems.append("\(path): \(items.count) thresholds; at most \(maxCount)") }
        var places: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            switch parse(item, path: "\(path)[\(index)]") {
            case let .success(threshold):
                if let earlier = places[threshold.id] {
                    problems.append("\(path)[\(index)].id: \(JSONValue.string(threshold.id).quoted) is the id of \(path)[\(earlier)] too; give each its own")
                }
                places[threshold.id] = index
                thresholds.append(threshold)
            case let .failure(found): problems += found.messages
            }
        }
        return problems.isEmpty ? .success(thresholds) : .failure(ThresholdProblems(capped: problems))
    }

    /// A set holds at most this many (api.md §2).
    public static let maxCount = 1000

    /// One threshold, as `PUT /performance/config/thresholds/{id}` sends it.
    public static func parseOne(_ value: JSONValue, path: String = "threshold") -> Result<AlertThreshold, ThresholdProblems> {
        parse(value, path: path)
    }

    /// The thresholds whose window reaches past the retention: data that old is never kept, so the
    /// window would quietly judge less than it says (`alert_thresholds[2].window: …`).
    public static func windowProblems(_ thresholds: [AlertThreshold], retention: TimeSpan, path: String = "alert_thresholds") -> [String] {
        thresholds.enumerated().compactMap { index, threshold in
            threshold.window > retention
                ? "\(path)[\(index)].window: \(threshold.window) is longer than the retention (\(retention)); data that old is not kept"
                : nil
        }
    }

    static func parse(_ value: JSONValue, path: String) -> Result<AlertThreshold, ThresholdProblems> {
        guard case let .object(members) = value else {
            return .failure(ThresholdProblems(["\(path): expected an object, got \(value.quoted)"]))
        }
        var problems: [String] = []
        let known: Set<String> = ["id", "enabled", "metric", "comparison", "threshold", "severity", "scope", "stat", "window", "for_seconds",
                                  "cooldown_seconds", "min_samples", "message"]
        for (key, _) in members where !known.contains(key) {
            problems.append("\(path).\(key): unknown field; known: \(known.sorted().joined(separator: ", "))")
        }
        func field(_ name: String) -> JSONValue? { members.first { $0.0 == name }?.1 }
        func string(_ name: String) -> String? {
            guard let value = field(name) else { return nil }
            guard case let .string(text) = value else {
                problems.append("\(path).\(name): expected a string, got \(value.quoted)")
                return nil
            }
            return text
        }
        func number(_ name: String, atLeast minimum: Double? = nil) -> Double? {
            guard let value = field(name) else { return nil }
            guard case let .number(number, _) = value, number.isFinite, number >= (minimum ?? -.infinity) else {
                problems.append("\(path).\(name): expected \(minimum == 0 ? "a number ≥ 0" : "a number"), got \(value.quoted)")
                return nil
            }
            return number
        }
        func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) -> T? where T.RawValue == String {
            guard let text = string(name) else { return nil }
            guard let choice = T(rawValue: text.lowercased()) else {
                problems.append("\(path).\(name): \"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return choice
        }

        var metric: AlertMetric?
        if let name = string("metric") {
            metric = AlertMetric(name: name)
            if metric == nil {
                let known = (AlertMetric.eventMetrics + AlertMetric.sampledMetrics).map(\.name).joined(separator: ", ")
                problems.append("\(path).metric: \"\(name)\" is not a known metric (\(known)) nor a custom metric name")
            }
        }
        if field("metric") == nil { problems.append("\(path).metric: required") }
        let threshold = number("threshold")
        if field("threshold") == nil { problems.append("\(path).threshold: required") }
        let comparison = choice("comparison", Comparison.self)
        if field("comparison") == nil { problems.append("\(path).comparison: required") }
        let severity = choice("severity", Severity.self)
        if field("severity") == nil { problems.append("\(path).severity: required") }
        let stat = choice("stat", Stat.self)
        var window: TimeSpan?
        if let text = string("window") {
            window = TimeSpan.parse(text)
            if window == nil || window!.milliseconds < 1000 {
                problems.append("\(path).window: \"\(text)\" is not a duration of at least 1s (\(TimeSpan.syntax))")
            }
        }
        let forSeconds = number("for_seconds", atLeast: 0)
        let cooldown = number("cooldown_seconds", atLeast: 0)
        var minSamples: Int?
        if let value = number("min_samples", atLeast: 0) {
            // Checked before converting: Int(Double) traps outside Int's range.
            if value == value.rounded(), value <= 1_000_000_000 {
                minSamples = Int(value)
            } else {
                problems.append("\(path).min_samples: expected an integer from 0 to 1000000000, got \(field("min_samples")!.quoted)")
            }
        }
        let message = string("message")
        let configuredID = string("id")
        if let configuredID, !isValidID(configuredID) {
            problems.append("\(path).id: \(JSONValue.string(configuredID).quoted) is not an id: \(idSyntax)")
        }
        var enabled = true
        if let value = field("enabled") {
            if case let .bool(flag) = value { enabled = flag } else { problems.append("\(path).enabled: expected true or false, got \(value.quoted)") }
        }
        var scope = Scope()
        if let value = field("scope") { scope = Scope.parse(value, path: "\(path).scope", problems: &problems) }
        if !scope.labels.isEmpty, let metric, metric.isEventStatistic || metric.isSampled {
            problems.append("\(path).scope.labels: only a custom metric has labels; \(metric.name) is perfmond's own")
        }
        if let stat, [.count, .sum, .last].contains(stat), let metric, metric.isEventStatistic || metric.isSampled {
            problems.append("\(path).stat: \(stat.rawValue) is for custom metrics; \(metric.name) takes avg, p50, p95, p99 or p999")
        }
        guard problems.isEmpty, let metric, let threshold, let comparison, let severity else {
            return .failure(ThresholdProblems(problems))
        }
        var result = AlertThreshold(metric: metric, comparison: comparison, threshold: threshold, severity: severity)
        result.scope = scope
        if let stat { result.stat = stat }
        if let window { result.window = window }
        if let forSeconds { result.forSeconds = forSeconds }
        if let cooldown { result.cooldownSeconds = cooldown }
        if let minSamples { result.minSamples = minSamples }
        result.message = message
        result.configuredID = configuredID
        result.enabled = enabled
        return .success(result)
    }

    /// As `GET /performance/config` shows it.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("enabled", .bool(enabled)),
            ("metric", .string(metric.name)), ("comparison", .string(comparison.rawValue)), ("threshold", .double(threshold)),
            ("severity", .string(severity.rawValue)), ("stat", .string(stat.rawValue)), ("window", .string(window.description)),
            ("for_seconds", .double(forSeconds)), ("cooldown_seconds", .double(cooldownSeconds)), ("min_samples", .int(minSamples)),
        ]
        if !scope.isEmpty { members.append(("scope", scope.json)) }
        if let message { members.append(("message", .string(message))) }
        return .object(members)
    }
}

/// Every problem found in a threshold set, each naming its place.
public struct ThresholdProblems: Error, Sendable, Equatable {
    /// At most this many are listed (a set of 10,000 bad thresholds must not answer megabytes).
    public static let maxListed = 100

    public let messages: [String]
    public init(_ messages: [String]) { self.messages = messages }

    /// The first `maxListed` problems, then one line counting the rest.
    init(capped problems: [String]) {
        messages = problems.count <= Self.maxListed ? problems
            : Array(problems.prefix(Self.maxListed)) + ["… and \(problems.count - Self.maxListed) more problems"]
    }
}

extension AlertThreshold.Scope {
    /// Reads a scope (`{kind, provider, model, endpoint, component, labels}`), adding each problem
    /// to `problems` under `path`: the alert thresholds' and the recommendation rules' scopes.
    public static func parse(_ value: JSONValue, path: String, problems: inout [String]) -> AlertThreshold.Scope {
        var scope = AlertThreshold.Scope()
        guard case let .object(members) = value else {
            problems.append("\(path): expected an object, got \(value.quoted)")
            return scope
        }
        for (key, member) in members {
            if key == "labels" {
                guard case let .object(labels) = member else {
                    problems.append("\(path).labels: expected an object of label names to strings, got \(member.quoted)")
                    continue
                }
                for (name, value) in labels {
                    guard case let .string(text) = value else {
                        problems.append("\(path).labels.\(name): expected a string, got \(value.quoted)")
                        continue
                    }
                    scope.labels[name] = text
                }
                continue
            }
            guard case let .string(text) = member, !text.isEmpty else {
                problems.append("\(path).\(key): expected a non-empty string, got \(member.quoted)")
                continue
            }
            switch key {
            case "kind":
                guard let kind = Kind(rawValue: text) else {
                    problems.append("\(path).kind: \(JSONValue.string(text).quoted) is not one of provider, endpoint, component")
                    continue
                }
                scope.kind = kind
            case "provider": scope.provider = text
            case "model": scope.model = text
            case "endpoint": scope.endpoint = text
            case "component": scope.component = text
            default: problems.append("\(path).\(key): unknown; a scope names kind, provider, model, endpoint, component or labels")
            }
        }
        if let kind = scope.kind, (kind != .provider && (scope.provider != nil || scope.model != nil))
            || (kind != .endpoint && scope.endpoint != nil) || (kind != .component && scope.component != nil) {
            problems.append("\(path): kind \(kind.rawValue) names series of another kind too; keep to one")
        }
        return scope
    }

    /// As `GET /performance/config` shows it.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let kind { members.append(("kind", .string(kind.rawValue))) }
        if let provider { members.append(("provider", .string(provider))) }
        if let model { members.append(("model", .string(model))) }
        if let endpoint { members.append(("endpoint", .string(endpoint))) }
        if let component { members.append(("component", .string(component))) }
        if !labels.isEmpty {
            members.append(("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })))
        }
        return .object(members)
    }
}
