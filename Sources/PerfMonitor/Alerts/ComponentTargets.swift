/// What seed 000's component recommendations measure a component against
/// (`recommendation_rules`): an average latency, an error rate, an expected throughput. A rule
/// without `component` holds for every component; a rule naming one overrides the fields it
/// gives for that component. A target of 0, or none, turns its check off.
public struct ComponentTargets: Sendable, Equatable {
    /// One rule of the list, as configured.
    public struct Rule: Sendable, Equatable {
        /// The component it is for; nil: every component.
        public var component: String?
        /// `high_latency` when the average latency is above it.
        public var latencyMs: Double?
        /// `high_error_rate` when the share of failed operations is above it.
        public var errorRatePercent: Double?
        /// `low_throughput` when operations per second fall below it.
        public var throughputPerSecond: Double?

        public init(component: String? = nil, latencyMs: Double? = nil, errorRatePercent: Double? = nil, throughputPerSecond: Double? = nil) {
            self.component = component
            self.latencyMs = latencyMs
            self.errorRatePercent = errorRatePercent
            self.throughputPerSecond = throughputPerSecond
        }
    }

    /// The targets that hold for one component, each nil when its check is off.
    public struct Resolved: Sendable, Equatable {
        public var latencyMs: Double?
        public var errorRatePercent: Double?
        public var throughputPerSecond: Double?

        public init(latencyMs: Double? = nil, errorRatePercent: Double? = nil, throughputPerSecond: Double? = nil) {
            self.latencyMs = latencyMs
            self.errorRatePercent = errorRatePercent
            self.throughputPerSecond = throughputPerSecond
        }
    }

    public var rules: [Rule]

    public init(_ rules: [Rule]) { self.rules = rules }

    /// Seed 000's figures: 100 ms of average latency and 5 % of errors; no expected throughput
    /// (only an operator knows what a component should do).
    public static let defaults = ComponentTargets([Rule(latencyMs: 100, errorRatePercent: 5)])

    /// The global rules' fields, then the component's own rules' fields over them.
    public func targets(for component: String) -> Resolved {
        var resolved = Resolved()
        for rule in rules where rule.component == nil { resolved.take(rule) }
        for rule in rules where rule.component == component { resolved.take(rule) }
        return resolved
    }
}

extension ComponentTargets.Resolved {
    fileprivate mutating func take(_ rule: ComponentTargets.Rule) {
        if let value = rule.latencyMs { latencyMs = value > 0 ? value : nil }
        if let value = rule.errorRatePercent { errorRatePercent = value > 0 ? value : nil }
        if let value = rule.throughputPerSecond { throughputPerSecond = value > 0 ? value : nil }
    }
}
