/// What a client reports. The kinds and what each updates are the table of api.md §1.
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

/// One validated event. Label fields are nil when absent or empty; `success` is already resolved
/// (explicit, or false when `status_code` ≥ 400 or an `error_type` is set).
public struct Event: Sendable, Equatable {
    public var type: EventType
    /// Unix seconds.
    public var timestamp: Double
    public var requestID: String?
    public var provider: String?
    public var model: String?
    public var endpoint: String?
    public var method: String?
    public var component: String?
    public var operation: String?
    public var durationMs: Double?
    public var ttftMs: Double?
    public var success: Bool
    public var statusCode: Int?
    public var errorType: String?
    public var errorMessage: String?
    public var costUSD: Double?
    public var inputTokens: Double?
    public var outputTokens: Double?
    public var requestBytes: Double?
    public var responseBytes: Double?
    public var metric: String?
    public var value: Double?
    public var unit: String?
    /// The client kept this fraction of such events; counts and sums weigh 1 / rate.
    public var sampleRate: Double
    public var metadata: [String: String]

    public init(type: EventType, timestamp: Double) {
        self.type = type
        self.timestamp = timestamp
        self.success = true
        self.sampleRate = 1
        self.metadata = [:]
    }

    /// How much this event counts for (1 / sample rate).
    public var weight: Double { 1 / sampleRate }
}
