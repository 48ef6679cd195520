import PerfJSON
import PerfMonitor

/// `recommendation_rules` as the configuration file and `PERFMOND_RECOMMENDATION_RULES` write
/// them: a list of rules, every problem named with its place, and shown back.
extension ComponentTargets {
    public static let fields = ["component", "latency_ms", "error_rate_percent", "throughput_per_second"]

    /// Reads the whole list, or every problem in it (`recommendation_rules[1].latency_ms: …`).
    public static func parse(_ value: JSONValue, path: String = "recommendation_rules") -> Result<ComponentTargets, ThresholdProblems> {
        guard case let .array(items) = value else {
            return .failure(ThresholdProblems(["\(path): expected a list of rules, got \(value.quoted)"]))
        }
        var rules: [Rule] = []
        var problems: [String] = []
        for (index, item) in items.enumerated() {
            let place = "\(path)[\(index)]"
            guard case let .object(members) = item else {
                problems.append("\(place): expected an object, got \(item.quoted)")
                continue
            }
            var rule = Rule()
            for (key, member) in members {
                switch key {
                case "component":
                    guard case let .string(name) = member, !name.isEmpty else {
                        problems.append("\(place).component: expected a component name, got \(member.quoted)")
                        continue
                    }
                    rule.component = name
                case "latency_ms", "error_rate_percent", "throughput_per_second":
                    guard case let .number(number, _) = member, number.isFinite, number >= 0,
                          key != "error_rate_percent" || number <= 100 else {
                        let range = key == "error_rate_percent" ? "from 0 to 100" : "≥ 0"
                        problems.append("\(place).\(key): expected a number \(range) (0 turns the check off), got \(member.quoted)")
                        continue
                    }
                    switch key {
                    case "latency_ms": rule.latencyMs = number
                    case "error_rate_percent": rule.errorRatePercent = number
                    default: rule.throughputPerSecond = number
                    }
                default:
                    problems.append("\(place).\(key): unknown field; known: \(fields.joined(separator: ", "))")
                }
            }
            rules.append(rule)
        }
        return problems.isEmpty ? .success(ComponentTargets(rules)) : .failure(ThresholdProblems(capped: problems))
    }

    public var json: JSONValue {
        .array(rules.map { rule in
            var members: [(String, JSONValue)] = []
            if let component = rule.component { members.append(("component", .string(component))) }
            if let value = rule.latencyMs { members.append(("latency_ms", .double(value))) }
            if let value = rule.errorRatePercent { members.append(("error_rate_percent", .double(value))) }
            if let value = rule.throughputPerSecond { members.append(("throughput_per_second", .double(value))) }
            return .object(members)
        })
    }
}
