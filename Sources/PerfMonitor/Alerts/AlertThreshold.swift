import PerfJSON

/// One alert rule: when `stat` of `metric` over `window` compares to `threshold` as `comparison`
/// says, an alert of `severity` fires (api.md §2, Alerts). Read from the config file and from
/// `POST /performance/config`, always validated as a whole set.
public struct AlertThreshold: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        case greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<=", equal = "=="

        /// As an id spells it.
        var word: String {
            switch self {
            case .greater: "gt"
            case .greaterOrEqual: "ge"
            case .less: "lt"
            case .lessOrEqual: "le"
            case .equal: "eq"
            }
        }
    }

    /// What of a window is compared: a distribution's mean or percentile, or (for custom
    /// metrics) the count of events, their sum, or the last value (a set: its distinct members).
    public enum Stat: String, Sendable, CaseIterable {
        case avg, p50, p95, p99, p999, count, sum, last
    }

    /// Which series the rule watches; all nil: each series of the metric separately (providers,
    /// endpoints and components alike, for perfmond's own metrics).
    public struct Scope: Sendable, Equatable {
        /// The kinds a scope may keep to on its own (`"kind": "component"`): seed 000's component
        /// rules must not fire on LLM providers.
        public enum Kind: String, Sendable, CaseIterable {
            case provider, endpoint, component
        }

        /// Only series of this kind.
        public var kind: Kind?
        public var provider: String?
        public var model: String?
        public var endpoint: String?
        public var component: String?
        /// A custom metric's labels: a series is judged when it has all of them.
        public var labels: [String: String] = [:]

        public init(kind: Kind? = nil, provider: String? = nil, model: String? = nil, endpoint: String? = nil, component: String? = nil,
                    labels: [String: String] = [:]) {
            self.kind = kind
            self.provider = provider
            self.model = model
            self.endpoint = endpoint
            self.component = component
            self.labels = labels
        }

        public var isEmpty: Bool { kind == nil && provider == nil && model == nil && endpoint == nil && component == nil && labels.isEmpty }

        /// Whether the series of `kind` with these two labels (provider and model, endpoint and
        /// method, component and operation) is judged.
        public func covers(_ kind: Kind, _ first: String, _ second: String) -> Bool {
            guard judges(kind) else { return false }
            switch kind {
            case .provider: return (provider == nil || first == provider) && (model == nil || second == model)
            case .endpoint: return endpoint == nil || first == endpoint
            case .component: return component == nil || first == component
            }
        }

        /// How narrowly it picks series: each name counts more than a kind alone.
        public var specificity: Int { [provider, model, endpoint, component].compactMap { $0 }.count * 2 + (kind == nil ? 0 : 1) }

        /// Whether series of `kind` are judged.
        func judges(_ kind: Kind) -> Bool {
            if isEmpty { return true }
            switch kind {
            case .provider: return self.kind == .provider || provider != nil || model != nil
            case .endpoint: return self.kind == .endpoint || endpoint != nil
            case .component: return self.kind == .component || component != nil
            }
        }
    }

    public var metric: AlertMetric
    public var comparison: Comparison
    public var threshold: Double
    public var severity: Severity
    public var scope = Scope()
    public var stat = Stat.p95
    public var window = TimeSpan.fiveMinutes
    public var forSeconds: Double = 0
    public var cooldownSeconds: Double = 60
    public var minSamples = 10
    public var message: String?
    /// The name `PUT /performance/config/thresholds/{id}` addresses it by: as configured, or
    /// else `derivedID`.
    public var configuredID: String?
    /// A rule kept but not judged (seed 002's `setAlertThreshold` with `enabled: false`).
    public var enabled = true

    public var id: String { configuredID ?? derivedID }

    /// What the rule judges, spelled for a URL path: metric, stat, window, comparison, threshold,
    /// severity and scope (`response_time_ms.p95.5m.gt.2000.warning`). Alerts take their ids from it.
    public var derivedID: String {
        var parts = [metric.name, stat.rawValue, window.description, comparison.word, JSONNumber.format(threshold), severity.rawValue]
        if let kind = scope.kind { parts.append("kind=\(kind.rawValue)") }
        for (name, value) in [("provider", scope.provider), ("model", scope.model), ("endpoint", scope.endpoint), ("component", scope.component)] {
            if let value { parts.append("\(name)=\(value)") }
        }
        for (name, value) in scope.labels.sorted(by: { $0.key < $1.key }) { parts.append("label.\(name)=\(value)") }
        return Self.idSpelling(parts.joined(separator: "."))
    }

    /// What an id may be, as errors say it.
    public static let idSyntax = "1 to 256 of a-z A-Z 0-9 _ - . : ="

    /// An id a URL path can carry and a configuration can spell.
    public static func isValidID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 256 && text.utf8.allSatisfy(isIDByte)
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "="): true
        default: false
        }
    }

    /// `text` as an id a URL path carries: bytes outside a-z A-Z 0-9 _ - . : = as `_`, and past
    /// 200 bytes cut and ended with a hash of the whole (FNV-1a), so that it stays unique.
    static func idSpelling(_ text: String) -> String {
        var bytes = text.utf8.map { isIDByte($0) ? $0 : UInt8(ascii: "_") }
        if bytes.count > 200 {
            let hash = text.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
            bytes = Array(bytes.prefix(200)) + Array("-\(String(hash, radix: 16))".utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public init(metric: AlertMetric, comparison: Comparison, threshold: Double, severity: Severity, stat: Stat = .p95,
                scope: Scope = Scope()) {
        self.metric = metric
        self.comparison = comparison
        self.threshold = threshold
        self.severity = severity
        self.stat = stat
        self.scope = scope
    }

    /// Seed 002's recommended thresholds: warning and critical for p95 latency, success rate,
    /// memory pressure, error rate and CPU; and seed 000's component latency rule.
    public static let defaults: [AlertThreshold] = [
        AlertThreshold(metric: .responseTimeMs, comparison: .greater, threshold: 2000, severity: .warning),
        AlertThreshold(metric: .responseTimeMs, comparison: .greater, threshold: 5000, severity: .critical),
        AlertThreshold(metric: .successRatePercent, comparison: .less, threshold: 90, severity: .warning),
        AlertThreshold(metric: .successRatePercent, comparison: .less, threshold: 80, severity: .critical),
        AlertThreshold(metric: .memoryPressure, comparison: .greater, threshold: 80, severity: .warning),
        AlertThreshold(metric: .memoryPressure, comparison: .greater, threshold: 95, severity: .critical),
        AlertThreshold(metric: .errorRatePercent, comparison: .greater, threshold: 5, severity: .warning),
        AlertThreshold(metric: .errorRatePercent, comparison: .greater, threshold: 10, severity: .critical),
        AlertThreshold(metric: .cpuPercent, comparison: .greater, threshold: 85, severity: .warning),
        AlertThreshold(metric: .cpuPercent, comparison: .greater, threshold: 95, severity: .critical),
        // Seed 000's component rule (its error-rate rule, > 5 %, is the one above, which judges
        // components too): average latency over 1 s, on components only.
        AlertThreshold(metric: .responseTimeMs, comparison: .greater, threshold: 1000, severity: .warning, stat: .avg,
                       scope: Scope(kind: .component)),
    ]
}
