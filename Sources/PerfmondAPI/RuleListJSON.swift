import PerfJSON

/// A configuration key that is a list of rule objects (`recommendation_rules`, `statsd_mappings`),
/// read whole: each object handed to its reader with its place (`path[3]`), and every problem of
/// every rule collected, so that one reading names them all.
enum RuleList {
    /// The rules `read` made of the list's objects, or every problem found. `read` adds its
    /// problems and gives nil for an object it cannot make a rule of.
    static func parse<Rule>(_ value: JSONValue, path: String,
                            read: (_ members: [(String, JSONValue)], _ place: String, _ problems: inout [String]) -> Rule?)
        -> Result<[Rule], ThresholdProblems> {
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
            if let rule = read(members, place, &problems) { rules.append(rule) }
        }
        return problems.isEmpty ? .success(rules) : .failure(ThresholdProblems(capped: problems))
    }

    /// A problem for each of `fields` the object lacks.
    static func require(_ fields: [String], in members: [(String, JSONValue)], place: String, problems: inout [String]) {
        for field in fields where !members.contains(where: { $0.0 == field }) { problems.append("\(place).\(field): required") }
    }
}
