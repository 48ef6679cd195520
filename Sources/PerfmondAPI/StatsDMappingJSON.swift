import PerfJSON
import PerfMonitor

extension StatsDMapping {
    /// The fields a rule may have.
    static let fields = ["match", "target", "name", "labels"]

    /// Reads `statsd_mappings` (api.md §6.3): a list of `{match, target?, name?, labels?}`, with
    /// every problem named by its place.
    public static func parseList(_ value: JSONValue, path: String = "statsd_mappings") -> Result<StatsDMapping, ThresholdProblems> {
        RuleList.parse(value, path: path) { members, place, problems -> Rule? in
            var glob: Glob?, provider: ProviderTarget?, name: String?, labels: [(name: String, value: String)] = []
            for (key, member) in members {
                switch key {
                case "match":
                    guard case let .string(text) = member, let parsed = Glob(text) else {
                        problems.append("\(place).match: expected a dot-separated glob such as \"llm.*.*.latency\" (no empty part), got \(member.quoted)")
                        continue
                    }
                    glob = parsed
                case "target":
                    guard case let .string(text) = member, let parsed = ProviderTarget(rawValue: text) else {
                        problems.append("\(place).target: \(member.quoted) is not one of \(ProviderTarget.allCases.map(\.rawValue).joined(separator: ", "))")
                        continue
                    }
                    provider = parsed
                case "name":
                    guard case let .string(text) = member, !text.isEmpty, text.utf8.count <= 256 else {
                        problems.append("\(place).name: expected a metric name (may use $1, $2 … of the match), got \(member.quoted)")
                        continue
                    }
                    name = text
                case "labels":
                    guard case let .object(pairs) = member else {
                        problems.append("\(place).labels: expected an object of label names to values, got \(member.quoted)")
                        continue
                    }
                    for (label, labelValue) in pairs {
                        guard MetricLabels.isName(label) else {
                            problems.append("\(place).labels.\(label): a label name matches [a-zA-Z_][a-zA-Z0-9_]*")
                            continue
                        }
                        guard !label.hasPrefix("__"), !MetricLabels.isReserved(label) else {
                            problems.append("\(place).labels.\(label): a reserved label name (__…, le, quantile, job, instance)")
                            continue
                        }
                        guard case let .string(text) = labelValue else {
                            problems.append("\(place).labels.\(label): expected a string, got \(labelValue.quoted)")
                            continue
                        }
                        labels.append((label, text))
                    }
                    if pairs.count > MetricLabels.maxCount {
                        problems.append("\(place).labels: at most \(MetricLabels.maxCount) labels, got \(pairs.count)")
                    }
                default:
                    problems.append("\(place).\(key): unknown field; known: \(fields.joined(separator: ", "))")
                }
            }
            RuleList.require(["match"], in: members, place: place, problems: &problems)
            if provider != nil, name != nil {
                problems.append("\(place): give target (the LLM stats) or name (a custom metric), not both")
            }
            guard let glob else { return nil }
            return Rule(glob: glob, target: provider.map { .provider($0) } ?? .metric(name: name), labels: labels)
        }.map(StatsDMapping.init(rules:))
    }

    /// The rules as the configuration writes them (`/performance/config`).
    public var json: JSONValue {
        .array(rules.map { rule in
            var members: [(String, JSONValue)] = [("match", .string(rule.glob.description))]
            switch rule.target {
            case let .provider(target): members.append(("target", .string(target.rawValue)))
            case let .metric(name?): members.append(("name", .string(name)))
            case .metric(nil): break
            }
            if !rule.labels.isEmpty { members.append(("labels", .object(rule.labels.map { ($0.name, JSONValue.string($0.value)) }))) }
            return .object(members)
        })
    }
}
