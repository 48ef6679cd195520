/// The names clients give the kinds of event (`type` in api.md §1), aliases included. An event
/// keeps the name it was sent with (`cache_miss`, `timeout`): the raw-event view and the counts
/// by type show it.
public enum EventType: String, Sendable, CaseIterable {
    case providerRequest = "provider_request"
    case providerStart = "provider_start"
    case requestStart = "request_start"
    case requestEnd = "request_end"
    case request
    case operation
    case cacheHit = "cache_hit"
    case cacheMiss = "cache_miss"
    case error
    case timeout
    case rateLimitHit = "rate_limit_hit"
    case failover
    case metric
    case providerUsage = "provider_usage"

    /// Other names clients use for the same kinds (seed 002 and 004 spellings).
    static let aliases: [String: EventType] = ["provider_end": .providerRequest, "failover_initiated": .failover]

    /// The position in `allCases`, for counting by type in an array.
    public var ordinal: Int {
        switch self {
        case .providerRequest: 0
        case .providerStart: 1
        case .requestStart: 2
        case .requestEnd: 3
        case .request: 4
        case .operation: 5
        case .cacheHit: 6
        case .cacheMiss: 7
        case .error: 8
        case .timeout: 9
        case .rateLimitHit: 10
        case .failover: 11
        case .metric: 12
        case .providerUsage: 13
        }
    }

    /// The type named by `text`, case-insensitively, aliases included.
    public init?(name text: String) {
        if let type = EventType(rawValue: text) {  // as sent, the usual case: no lowercased copy
            self = type
            return
        }
        let lowered = text.lowercased()
        guard let type = EventType(rawValue: lowered) ?? Self.aliases[lowered] else { return nil }
        self = type
    }
}

/// One validated event: when it happened, how much it counts, its free labels, and what
/// happened, as one case per kind that carries exactly what that kind has. Every way in (JSON
/// events, and the adapters to come) builds these; the store applies them and cannot be handed
/// one it cannot apply.
public struct Event: Sendable, Equatable {
    /// Unix seconds.
    public var timestamp: Double
    public var sampleRate: SampleRate
    /// Free labels, kept on the raw event (numbers and booleans as their JSON text).
    public var metadata: [String: String]
    public var kind: EventKind

    public init(_ kind: EventKind, at timestamp: Double, sampleRate: SampleRate = .all, metadata: [String: String] = [:]) {
        self.kind = kind
        self.timestamp = timestamp
        self.sampleRate = sampleRate
        self.metadata = metadata
    }

    /// How much this event counts for (1 / sample rate).
    public var weight: Double { sampleRate.weight }

    /// The name of its kind, as sent.
    public var type: EventType { kind.type }
}

/// The fraction of such events the client kept (seed 004 sampling, StatsD's `@0.1`): in (0, 1].
/// An aggregated report (an OTLP histogram bucket of 37 calls) is one event standing for many:
/// its weight is kept as given, so that counts stay whole numbers.
public struct SampleRate: Sendable, Equatable {
    public let value: Double
    /// How many events this one counts for: 1 / `value`, exactly as given when made by `weight`.
    public let weight: Double

    /// Nil unless 0 < value ≤ 1.
    public init?(_ value: Double) {
        guard value > 0, value <= 1 else { return nil }
        self.value = value
        weight = 1 / value
    }

    /// One event standing for `weight` ≥ 1 events; nil below 1 or when not finite.
    public init?(weight: Double) {
        guard weight >= 1, weight.isFinite else { return nil }
        self.weight = weight
        value = 1 / weight
    }

    private init(exactly value: Double) {
        self.value = value
        weight = 1
    }

    /// Every event kept: each counts once.
    public static let all = SampleRate(exactly: 1)
}

/// What happened, one case per kind of api.md §1, each with the fields that kind has.
public enum EventKind: Sendable, Equatable {
    /// A call to an AI provider (`provider_request`): the only event that feeds provider × model stats.
    case providerCall(ProviderCall)
    /// A provider call under way (`provider_start`), until its `provider_request`.
    case providerStart(ProviderStart)
    /// A request under way (`request_start`), until its `request_end`.
    case requestStart(RequestStart)
    /// The end of a request (`request_end`): paired with its start, or naming its endpoint.
    case requestEnd(RequestEnd)
    /// A whole request in one event (`request`).
    case request(EndpointCall)
    /// One component × operation sample (`operation`).
    case operation(OperationSample)
    /// A cache lookup (`cache_hit`, `cache_miss`).
    case cache(CacheLookup)
    /// An error or a timeout, counted by error type where it happened (`error`, `timeout`).
    case error(ErrorReport)
    /// A provider refused a call for its rate limit (`rate_limit_hit`).
    case rateLimit(RateLimitHit)
    /// A call moved from one provider to another (`failover`).
    case failover(Failover)
    /// A named custom metric's value (`metric`).
    case metric(MetricSample)
    /// What a provider × model pair used, reported apart from its calls (`provider_usage`; StatsD
    /// mappings): added to the pair's sums, no call counted.
    case providerUsage(ProviderUsage)

    public var type: EventType {
        switch self {
        case .providerCall: .providerRequest
        case .providerStart: .providerStart
        case .requestStart: .requestStart
        case .requestEnd: .requestEnd
        case .request: .request
        case .operation: .operation
        case let .cache(lookup): lookup.hit ? .cacheHit : .cacheMiss
        case let .error(report): report.timeout ? .timeout : .error
        case .rateLimit: .rateLimitHit
        case .failover: .failover
        case .metric: .metric
        case .providerUsage: .providerUsage
        }
    }

    /// How the call went, for the kinds that are calls (provider calls, requests, operations).
    public var outcome: CallOutcome? {
        switch self {
        case let .providerCall(call): call.outcome
        case let .requestEnd(end): end.outcome
        case let .request(call): call.outcome
        case let .operation(sample): sample.outcome
        case .providerStart, .requestStart, .cache, .error, .rateLimit, .failover, .metric, .providerUsage: nil
        }
    }
}

/// How a call went: what the stats of provider calls, requests and operations read.
public struct CallOutcome: Sendable, Equatable {
    /// As sent, or false when `status_code` ≥ 400 or an `error_type` is set.
    public var success: Bool
    public var statusCode: Int?
    public var errorType: String?
    public var errorMessage: String?
    public var durationMs: Double?
    public var ttftMs: Double?
    public var costUSD: Double?
    public var inputTokens: Double?
    public var outputTokens: Double?
    public var requestBytes: Double?
    public var responseBytes: Double?
    /// A request answered from a cache (seed 004's `cache_hit`): a hit or miss of the endpoint's cache scope.
    public var cacheHit: Bool?
    /// Retries it took (seed 004's `retry_count`): a distribution per endpoint.
    public var retryCount: Double?

    public init(success: Bool = true, statusCode: Int? = nil, errorType: String? = nil, errorMessage: String? = nil,
                durationMs: Double? = nil, ttftMs: Double? = nil, costUSD: Double? = nil, inputTokens: Double? = nil,
                outputTokens: Double? = nil, requestBytes: Double? = nil, responseBytes: Double? = nil,
                cacheHit: Bool? = nil, retryCount: Double? = nil) {
        self.success = success
        self.statusCode = statusCode
        self.errorType = errorType
        self.errorMessage = errorMessage
        self.durationMs = durationMs
        self.ttftMs = ttftMs
        self.costUSD = costUSD
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.cacheHit = cacheHit
        self.retryCount = retryCount
    }
}

public struct ProviderCall: Sendable, Equatable {
    public var provider: String
    public var model: String?
    /// Ends the `provider_start` of the same id.
    public var requestID: String?
    public var outcome: CallOutcome
    /// What the provider said was left of its rate limits after this call (LiteLLM's headers).
    public var rateLimitRemaining: RateLimitRemaining?

    public init(provider: String, model: String? = nil, requestID: String? = nil, outcome: CallOutcome = CallOutcome(),
                rateLimitRemaining: RateLimitRemaining? = nil) {
        self.provider = provider
        self.model = model
        self.requestID = requestID
        self.outcome = outcome
        self.rateLimitRemaining = rateLimitRemaining
    }
}

/// Requests and tokens a provider's rate limit still allowed, as its response headers said
/// (`x-ratelimit-remaining-requests`, `…-tokens`): the latest seen is a gauge per provider × model.
public struct RateLimitRemaining: Sendable, Equatable {
    public var requests: Double?
    public var tokens: Double?
    /// When it was reported (the call's timestamp): the latest report wins.
    public var at: Double = 0

    public init(requests: Double?, tokens: Double?, at: Double = 0) {
        self.requests = requests
        self.tokens = tokens
        self.at = at
    }
}

public struct ProviderStart: Sendable, Equatable {
    public var requestID: String
    public var provider: String
    public var model: String?

    public init(requestID: String, provider: String, model: String? = nil) {
        self.requestID = requestID
        self.provider = provider
        self.model = model
    }
}

public struct RequestStart: Sendable, Equatable {
    public var requestID: String
    public var endpoint: String?
    public var method: String?
    public var provider: String?
    public var model: String?
    /// A task of a component (seed 003's `tasks_active`): in flight for it until its end, which
    /// then counts as the component × operation's sample when no endpoint is named.
    public var component: String?
    public var operation: String?

    public init(requestID: String, endpoint: String? = nil, method: String? = nil, provider: String? = nil, model: String? = nil,
                component: String? = nil, operation: String? = nil) {
        self.requestID = requestID
        self.endpoint = endpoint
        self.method = method
        self.provider = provider
        self.model = model
        self.component = component
        self.operation = operation
    }
}

public struct RequestEnd: Sendable, Equatable {
    /// How the end finds where it belongs: its start's id (the endpoint may come from the start),
    /// or an endpoint of its own when it has no id.
    public enum Match: Sendable, Equatable {
        case started(requestID: String, endpoint: String?)
        case endpoint(String)
    }

    public var match: Match
    public var method: String?
    public var provider: String?
    public var model: String?
    /// Its duration, when absent, comes from the pair.
    public var outcome: CallOutcome

    public init(_ match: Match, method: String? = nil, provider: String? = nil, model: String? = nil, outcome: CallOutcome = CallOutcome()) {
        self.match = match
        self.method = method
        self.provider = provider
        self.model = model
        self.outcome = outcome
    }

    public var requestID: String? {
        if case let .started(id, _) = match { id } else { nil }
    }

    public var endpoint: String? {
        switch match {
        case let .started(_, endpoint): endpoint
        case let .endpoint(endpoint): endpoint
        }
    }
}

public struct EndpointCall: Sendable, Equatable {
    public var endpoint: String
    public var method: String?
    public var provider: String?
    public var model: String?
    public var outcome: CallOutcome

    public init(endpoint: String, method: String? = nil, provider: String? = nil, model: String? = nil, outcome: CallOutcome = CallOutcome()) {
        self.endpoint = endpoint
        self.method = method
        self.provider = provider
        self.model = model
        self.outcome = outcome
    }
}

public struct OperationSample: Sendable, Equatable {
    public var component: String
    public var operation: String?
    public var outcome: CallOutcome

    public init(component: String, operation: String? = nil, outcome: CallOutcome = CallOutcome()) {
        self.component = component
        self.operation = operation
        self.outcome = outcome
    }
}

public struct CacheLookup: Sendable, Equatable {
    public var hit: Bool
    public var component: String?
    public var provider: String?
    /// How long the lookup took (seed 004's cache operations).
    public var accessTimeMs: Double?

    public init(hit: Bool, component: String? = nil, provider: String? = nil, accessTimeMs: Double? = nil) {
        self.hit = hit
        self.component = component
        self.provider = provider
        self.accessTimeMs = accessTimeMs
    }

    /// The cache series it counts in: the component's, else the provider's, else `default`.
    public var scope: String { component ?? provider ?? "default" }
}

public struct ErrorReport: Sendable, Equatable {
    /// Sent as `timeout`: counted as error type `timeout` unless it names another.
    public var timeout: Bool
    public var errorType: String?
    public var message: String?
    public var provider: String?
    public var model: String?
    public var endpoint: String?
    public var method: String?
    public var component: String?
    public var operation: String?

    public init(timeout: Bool = false, errorType: String? = nil, message: String? = nil, provider: String? = nil, model: String? = nil,
                endpoint: String? = nil, method: String? = nil, component: String? = nil, operation: String? = nil) {
        self.timeout = timeout
        self.errorType = errorType
        self.message = message
        self.provider = provider
        self.model = model
        self.endpoint = endpoint
        self.method = method
        self.component = component
        self.operation = operation
    }

    /// The error type it counts as.
    public var countedType: String { errorType ?? (timeout ? "timeout" : "unknown") }
}

public struct RateLimitHit: Sendable, Equatable {
    public var provider: String
    public var model: String?

    public init(provider: String, model: String? = nil) {
        self.provider = provider
        self.model = model
    }
}

public struct Failover: Sendable, Equatable {
    public var from: String
    public var to: String
    public var model: String?

    public init(from: String, to: String, model: String? = nil) {
        self.from = from
        self.to = to
        self.model = model
    }
}

/// Tokens, cost or a time to first token a provider × model pair used, without a call: StatsD and
/// OpenTelemetry send these as metrics of their own, apart from the call's latency. At least one
/// amount is set.
public struct ProviderUsage: Sendable, Equatable {
    public var provider: String
    public var model: String?
    public var ttftMs: Double?
    public var inputTokens: Double?
    public var outputTokens: Double?
    public var costUSD: Double?

    /// Nil when no amount is given.
    public init?(provider: String, model: String? = nil, ttftMs: Double? = nil, inputTokens: Double? = nil, outputTokens: Double? = nil,
                 costUSD: Double? = nil) {
        guard ttftMs != nil || inputTokens != nil || outputTokens != nil || costUSD != nil else { return nil }
        self.provider = provider
        self.model = model
        self.ttftMs = ttftMs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
    }
}

/// A custom metric's event (api.md §7): which series (name × labels), its unit, and what it does.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var update: MetricUpdate
    public var unit: String?
    public var labels: MetricLabels
    /// The way in it came by, so that what the store folds is counted where it came from.
    public var source: MetricSource

    public init(name: String, _ update: MetricUpdate, unit: String? = nil, labels: MetricLabels = .none, source: MetricSource = .events) {
        self.name = name
        self.update = update
        self.unit = unit
        self.labels = labels
        self.source = source
    }

    public var kind: MetricKind { update.kind }
}

/// The ways in that make custom metric events.
public enum MetricSource: Sendable, Equatable {
    /// `POST /events`.
    case events
    /// A StatsD line (api.md §6.3).
    case statsd
    /// An OpenTelemetry metric point (api.md §6.2).
    case otlp
}

/// What a custom metric event does to its series, one case per kind, so that a counter cannot be
/// handed a set's member: an increment (≥ 0), a gauge's new value or change, an observation, a
/// set's member (its text), or an untyped value (the last value and a distribution).
public enum MetricUpdate: Sendable, Equatable {
    case untyped(Double)
    case counter(increment: Double)
    case gauge(Double)
    case gaugeDelta(Double)
    case histogram(Double)
    case set(member: String)
    /// Many values of the series at once, folded by the way in (the StatsD listener folds each
    /// batch of lines per series): merged whole.
    case batch(MetricBatch)

    public var kind: MetricKind {
        switch self {
        case .untyped: .untyped
        case .counter: .counter
        case .gauge, .gaugeDelta: .gauge
        case .histogram: .histogram
        case .set: .set
        case let .batch(batch): batch.kind
        }
    }

    /// The number sent, for the raw-event view (a set's member and a batch have none).
    public var number: Double? {
        switch self {
        case let .untyped(value), let .counter(value), let .gauge(value), let .gaugeDelta(value), let .histogram(value): value
        case .set, .batch: nil
        }
    }
}

/// Values of one custom metric series counted together before they reach the store, so that the
/// store merges one aggregate where it would apply each value: what lets the StatsD listener take
/// lines faster than the store takes events. Counted exactly as the store counts single values
/// (the same `Aggregate.recordMetric`); values of a time unit are recorded in milliseconds. A
/// gauge's change is never batched (it needs the series' value).
public struct MetricBatch: Sendable, Equatable {
    public let kind: MetricKind
    public private(set) var aggregate = Aggregate()
    /// Values recorded (for the raw-event view and the counts of what was folded).
    public private(set) var values = 0

    public init(kind: MetricKind) { self.kind = kind }

    /// Records one value of this batch's kind.
    public mutating func record(_ update: MetricUpdate, at timestamp: Double, weight: Double) {
        precondition(update.kind == kind && !update.isChange, "a batch takes values of its own kind, and no gauge change")
        aggregate.recordMetric(update, at: timestamp, weight: weight)
        values += 1
    }
}

extension MetricUpdate {
    /// A gauge's change, resolved against the series' value when applied.
    public var isChange: Bool {
        if case .gaugeDelta = self { return true }
        return false
    }
}

/// The kinds of custom metric; `untyped` is a `metric` event without `kind` (last value and a
/// distribution, as before kinds existed).
public enum MetricKind: String, Sendable, CaseIterable {
    case untyped, counter, gauge, histogram, set

    /// The custom metric kind stored under a series kind; nil for the built-in kinds.
    public static func of(_ kind: SeriesKind) -> MetricKind? {
        allCases.first { $0.seriesKind == kind }
    }

    /// The series kind its series are stored under.
    public var seriesKind: SeriesKind {
        switch self {
        case .untyped: .metric
        case .counter: .counter
        case .gauge: .gauge
        case .histogram: .histogram
        case .set: .set
        }
    }
}

/// A custom metric series' labels: at most `maxCount`, sorted by name, checked by the decoder.
/// `key` is the one spelling a label set has in the store (`k="v",k2="v2"`, exposition escaping),
/// built once with the set: the store finds the series by it.
public struct MetricLabels: Sendable, Hashable {
    public static let maxCount = 8
    public static let maxValueBytes = 128
    /// Label names no custom metric may use: they mean something else to Prometheus.
    public static let reserved = ["le", "quantile", "job", "instance"]

    /// Compared one by one: four short strings cost less than hashing each label name.
    public static func isReserved(_ name: String) -> Bool { reserved.contains { $0 == name } }
    /// Whether `name` is a label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isName(_ name: String) -> Bool { EventFields.isLabelName(name) }
    /// The label set a series folds into past the series limits.
    public static let folded = MetricLabels(names: ["__other__"], values: ["true"])
    public static let none = MetricLabels(sortedNames: [], values: [])

    public let names: [String]
    public let values: [String]
    public let key: String

    /// Names and values side by side, in any order; a name given twice keeps its last value.
    /// Sorted by moving positions, not strings (a handful of labels, on every labelled event).
    public init(names: [String], values: [String]) {
        precondition(names.count == values.count, "a value for each label name")
        var order: [Int] = []
        order.reserveCapacity(names.count)
        for position in names.indices {
            let name = names[position]
            var slot = order.count
            while slot > 0, names[order[slot - 1]] > name { slot -= 1 }
            if slot > 0, names[order[slot - 1]] == name {
                order[slot - 1] = position
            } else {
                order.insert(position, at: slot)
            }
        }
        if order.count == names.count, order.indices.allSatisfy({ order[$0] == $0 }) {
            self.init(sortedNames: names, values: values)
        } else {
            self.init(sortedNames: order.map { names[$0] }, values: order.map { values[$0] })
        }
    }

    /// The pairs in any order (as `init(names:values:)`).
    public init(_ pairs: [(String, String)]) {
        self.init(names: pairs.map(\.0), values: pairs.map(\.1))
    }

    private init(sortedNames names: [String], values: [String]) {
        self.names = names
        self.values = values
        key = Self.key(names, values)
    }

    public var pairs: [(String, String)] { Array(zip(names, values)) }
    public var isEmpty: Bool { names.isEmpty }

    public static func == (lhs: MetricLabels, rhs: MetricLabels) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    /// `name="value"` pairs in name order, values escaped as in the exposition format: its length
    /// counted first, then written in place.
    private static func key(_ names: [String], _ values: [String]) -> String {
        func escaped(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x5C: 0x5C
            case 0x22: 0x22
            case 0x0A: 0x6E
            default: nil
            }
        }
        var length = Swift.max(0, names.count - 1)
        for index in names.indices {
            length += names[index].utf8.count + values[index].utf8.count + 3
            for byte in values[index].utf8 where escaped(byte) != nil { length += 1 }
        }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var at = 0
            func put(_ byte: UInt8) {
                buffer[at] = byte
                at += 1
            }
            for index in names.indices {
                if index > 0 { put(0x2C) }
                for byte in names[index].utf8 { put(byte) }
                put(0x3D)
                put(0x22)
                for byte in values[index].utf8 {
                    if let escape = escaped(byte) {
                        put(0x5C)
                        put(escape)
                    } else {
                        put(byte)
                    }
                }
                put(0x22)
            }
            return at
        }
    }

    /// Reads a store key back (the inverse of `key`); nil for a key it did not write.
    public init?(key: String) {
        var pairs: [(String, String)] = []
        var rest = Substring(key)
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" else { return nil }
            let name = String(rest[..<equals])
            var value = ""
            var index = rest.index(equals, offsetBy: 2)
            var closed = false
            while index < rest.endIndex {
                let character = rest[index]
                if character == "\\" {
                    index = rest.index(after: index)
                    guard index < rest.endIndex else { return nil }
                    value.append(rest[index] == "n" ? "\n" : rest[index])
                } else if character == "\"" {
                    closed = true
                    break
                } else {
                    value.append(character)
                }
                index = rest.index(after: index)
            }
            guard closed else { return nil }
            pairs.append((name, value))
            rest = rest[rest.index(after: index)...]
            if rest.first == "," { rest = rest.dropFirst() }
        }
        self.init(pairs)
    }
}
