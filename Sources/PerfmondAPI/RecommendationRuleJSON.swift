import PerfJSON
import PerfMonitor

/// `recommendation_rules` as the configuration file and `PERFMOND_RECOMMENDATION_RULES` write
/// them: a list of `{type, target, scope?, min_samples?}`, every problem named with its place.
extension RecommendationRule {
    public static let fields = ["type", "target", "scope", "min_samples"]

    /// Reads the whole list (it replaces the defaults), or every problem in it.
    public static func parseList(_ value: JSONValue, path: String = "recommendation_rules") -> Result<[RecommendationRule], ThresholdProblems> {
        RuleList.parse(value, path: path) { members, place, problems in
            var type: Kind?, target: Double?, scope = AlertThreshold.Scope(), minSamples = defaultMinSamples
            for (key, member) in members {
                switch key {
                case "type":
                    guard case let .string(text) = member, let kind = Kind(rawValue: text) else {
                        problems.append("\(place).type: \(member.quoted) is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                        continue
                    }
                    type = kind
                case "target":
                    guard case let .number(number, _) = member, number.isFinite, number >= 0 else {
                        problems.append("\(place).target: expected a number ≥ 0, got \(member.quoted)")
                        continue
                    }
                    target = number
                case "scope":
                    scope = AlertThreshold.Scope.parse(member, path: "\(place).scope", problems: &problems)
                case "min_samples":
                    guard case let .number(number, _) = member, number == number.rounded(), (0...1_000_000_000).contains(number) else {
                        problems.append("\(place).min_samples: expected an integer from 0 to 1000000000, got \(member.quoted)")
                        continue
                    }
                    minSamples = Int(number)
                default:
                    problems.append("\(place).\(key): unknown field; known: \(fields.joined(separator: ", "))")
                }
            }
            RuleList.require(["type", "target"], in: members, place: place, problems: &problems)
            if !scope.labels.isEmpty { problems.append("\(place).scope.labels: recommendations judge providers, endpoints, components and caches, which have no labels") }
            guard let type, let target else { return nil }
            return RecommendationRule(type, target: target, scope: scope, minSamples: minSamples)
        }
    }

    /// As `GET /performance/config` shows it.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("type", .string(type.rawValue)), ("target", .double(target))]
        if !scope.isEmpty { members.append(("scope", scope.json)) }
        members.append(("min_samples", .int(minSamples)))
        return .object(members)
    }
}
