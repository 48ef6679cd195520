/// `statsd_mappings` (api.md §6.3): rules that rename StatsD lines and give them labels, or route
/// them into the provider × model stats, the way statsd_exporter's glob mappings do (in this
/// project's own YAML shape, not statsd_exporter's). The first rule that matches a name wins; a
/// line no rule matches is a custom metric of its own name and tags.
public struct StatsDMapping: Sendable, Equatable {
    /// Where a matched line goes.
    public enum Target: Sendable, Equatable {
        /// A custom metric; nil keeps the line's own name.
        case metric(name: String?)
        /// One of the provider × model stats.
        case provider(ProviderTarget)
    }

    /// The LLM stats a line can feed (`target:` in a rule).
    public enum ProviderTarget: String, Sendable, CaseIterable {
        /// One successful call with the line's value as its latency.
        case durationMs = "provider_duration_ms"
        /// The line's value is a number of failed calls (a whole number, at most 1,000 a line).
        case error = "provider_error"
        /// A time to first token, added to the pair without a call.
        case ttftMs = "provider_ttft_ms"
        case tokensInput = "provider_tokens_input"
        case tokensOutput = "provider_tokens_output"
        case costUSD = "provider_cost_usd"
    }

    /// One rule: a glob, where its lines go, and labels (values may use the glob's `$1`, `$2`…).
    public struct Rule: Sendable, Equatable {
        public let glob: Glob
        public let target: Target
        public let labels: [(name: String, value: String)]

        public init(glob: Glob, target: Target, labels: [(name: String, value: String)] = []) {
            self.glob = glob
            self.target = target
            self.labels = labels
        }

        public static func == (lhs: Rule, rhs: Rule) -> Bool {
            lhs.glob == rhs.glob && lhs.target == rhs.target && lhs.labels.elementsEqual(rhs.labels) { $0 == $1 }
        }
    }

    public let rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    public static let none = StatsDMapping()

    /// The first rule that matches `name`, and what its `*`s captured.
    public func match(_ name: String) -> (rule: Rule, captures: [Substring])? {
        for rule in rules {
            if let captures = rule.glob.match(name) { return (rule, captures) }
        }
        return nil
    }

    /// `$1`…`$9` and `${n}` in `template` replaced by the captures (one that is missing by "").
    public static func expand(_ template: String, _ captures: [Substring]) -> String {
        guard template.contains("$") else { return template }
        var result = "", rest = template[...]
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            var after = rest[rest.index(after: dollar)...]
            var digits: Substring
            if after.first == "{", let close = after.firstIndex(of: "}") {
                digits = after[after.index(after: after.startIndex)..<close]
                after = after[after.index(after: close)...]
            } else {
                digits = after.prefix { $0.isASCII && $0.isNumber }.prefix(1)
                after = after.dropFirst(digits.count)
            }
            if let number = Int(digits), number >= 1 {
                if number <= captures.count { result += captures[number - 1] }
            } else {
                result += "$" + digits
            }
            rest = after
        }
        return result + rest
    }
}

/// A dot-separated glob: `*` stands for one or more characters other than `.`, within one part
/// (`llm.*.*.latency`, `client_*.requests`). Each `*`'s text is a capture, in order.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let parts: [[Substring]]

    /// Nil for an empty pattern or an empty part (`a..b`).
    public init?(_ pattern: String) {
        let parts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard !pattern.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        description = pattern
        self.parts = parts.map { $0.split(separator: "*", omittingEmptySubsequences: false) }
    }

    public static func == (lhs: Glob, rhs: Glob) -> Bool { lhs.description == rhs.description }

    /// The captures when `name` matches, else nil.
    public func match(_ name: String) -> [Substring]? {
        let nameParts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard nameParts.count == parts.count else { return nil }
        var captures: [Substring] = []
        for (pieces, part) in zip(parts, nameParts) {
            guard Self.match(pieces[...], part, &captures) else { return nil }
        }
        return captures
    }

    /// `pieces` are the literal texts around the part's `*`s: the part starts with the first,
    /// ends with the last, and each `*` between takes at least one character (the shortest that
    /// lets the rest match).
    private static func match(_ pieces: ArraySlice<Substring>, _ text: Substring, _ captures: inout [Substring]) -> Bool {
        guard let first = pieces.first, text.hasPrefix(first) else { return false }
        let rest = text.dropFirst(first.count)
        let remaining = pieces.dropFirst()
        guard let next = remaining.first else { return rest.isEmpty }
        var start = rest.startIndex
        while start < rest.endIndex {
            start = rest.index(after: start)
            let kept = captures.count
            let tail = rest[start...]
            if remaining.count == 1 ? tail == next : tail.hasPrefix(next) {
                captures.append(rest[rest.startIndex..<start])
                if match(remaining, tail, &captures) { return true }
                captures.removeSubrange(kept...)
            }
        }
        return false
    }
}
