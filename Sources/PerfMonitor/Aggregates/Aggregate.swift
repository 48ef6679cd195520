/// Everything counted for one series over some span of time: exact (weighted) counters and sums,
/// and the distributions. One type for every kind of series, so that cumulative totals, window
/// buckets and their roll-ups all merge the same way.
public struct Aggregate: Sendable, Equatable {
    /// Calls, requests or operations completed (or, for a custom metric, values reported).
    public var total: Double = 0
    public var successes: Double = 0
    public var failures: Double = 0
    public var statusCodes: [Int: Double] = [:]
    public var errorTypes: [String: Double] = [:]
    public var costUSD: Double = 0
    public var inputTokens: Double = 0
    public var outputTokens: Double = 0
    public var requestBytes: Double = 0
    public var responseBytes: Double = 0
    public var rateLimitHits: Double = 0
    public var cacheHits: Double = 0
    public var cacheMisses: Double = 0
    /// Durations in milliseconds for calls (for a cache scope, its access times); the reported
    /// values for a custom metric.
    public var distribution = Distribution()
    /// Time to first token in milliseconds (streaming LLM calls).
    public var ttft = Distribution()
    /// A custom metric's most recent value and when it was reported.
    public var lastValue: Double = 0
    public var lastValueAt: Double = -.infinity
    /// A counter's increments, added up (weighted).
    public var valueSum: Double = 0
    /// A set's distinct members, exactly, up to `maxMembers`; past it new members are not kept
    /// (the answer says the count is capped).
    public var members: Set<String> = []
    public var membersCapped = false
    public static let maxMembers = 10_000

    public init() {}

    /// Counts one completed call (provider request, request, operation).
    mutating func recordCall(_ call: CallFacts) {
        let weight = call.weight
        total += weight
        if call.success { successes += weight } else { failures += weight }
        if let code = call.statusCode { statusCodes[code, default: 0] += weight }
        if let type = call.errorType { errorTypes[type, default: 0] += weight }
        costUSD += call.costUSD * weight
        inputTokens += call.inputTokens * weight
        outputTokens += call.outputTokens * weight
        requestBytes += call.requestBytes * weight
        responseBytes += call.responseBytes * weight
        if let durationMs = call.durationMs { distribution.record(durationMs, weight: weight) }
        if let ttftMs = call.ttftMs { ttft.record(ttftMs, weight: weight) }
    }

    /// Counts an error reported on its own (`error`, `timeout` events): by type, not as a call.
    mutating func recordError(type: String, weight: Double) {
        errorTypes[type, default: 0] += weight
    }

    /// Records a custom metric value (gauge: last, plus the distribution).
    mutating func recordValue(_ value: Double, at timestamp: Double, weight: Double) {
        total += weight
        distribution.record(value, weight: weight)
        if timestamp >= lastValueAt {
            lastValue = value
            lastValueAt = timestamp
        }
    }

    /// Applies one custom metric event of a typed kind (values of a time unit already in ms).
    mutating func recordMetric(_ update: MetricUpdate, at timestamp: Double, weight: Double) {
        switch update {
        case let .untyped(value):
            recordValue(value, at: timestamp, weight: weight)
        case let .counter(increment):
            total += weight
            valueSum += increment * weight
            setLast(valueSum, at: timestamp)
        case let .gauge(value):
            total += weight
            setLast(value, at: timestamp)
            distribution.record(value, weight: weight)
        case let .gaugeDelta(change):
            total += weight
            setLast(lastValue + change, at: Swift.max(timestamp, lastValueAt))
            distribution.record(lastValue, weight: weight)
        case let .histogram(value):
            total += weight
            distribution.record(value, weight: weight)
        case let .set(member):
            total += weight
            insert(member)
        }
    }

    private mutating func setLast(_ value: Double, at timestamp: Double) {
        if timestamp >= lastValueAt {
            lastValue = value
            lastValueAt = timestamp
        }
    }

    private mutating func insert(_ member: String) {
        if members.count < Self.maxMembers { members.insert(member) } else if !members.contains(member) { membersCapped = true }
    }

    public mutating func merge(_ other: Aggregate) {
        total += other.total
        successes += other.successes
        failures += other.failures
        for (code, count) in other.statusCodes { statusCodes[code, default: 0] += count }
        for (type, count) in other.errorTypes { errorTypes[type, default: 0] += count }
        costUSD += other.costUSD
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        requestBytes += other.requestBytes
        responseBytes += other.responseBytes
        rateLimitHits += other.rateLimitHits
        cacheHits += other.cacheHits
        cacheMisses += other.cacheMisses
        distribution.merge(other.distribution)
        ttft.merge(other.ttft)
        if other.lastValueAt >= lastValueAt {
            lastValue = other.lastValue
            lastValueAt = other.lastValueAt
        }
        valueSum += other.valueSum
        for member in other.members { insert(member) }
        membersCapped = membersCapped || other.membersCapped
    }

    /// Approximate heap bytes (for `/performance/memory`).
    var heapBytes: Int {
        distribution.heapBytes + ttft.heapBytes + (statusCodes.isEmpty ? 0 : 48 + statusCodes.capacity * 24)
            + (errorTypes.isEmpty ? 0 : 48 + errorTypes.capacity * 32)
            + (members.isEmpty ? 0 : 48 + members.reduce(members.capacity * 16) { $0 + $1.utf8.count })
    }
}

/// What one call adds to an aggregate, taken from its event once: the aggregates of a call (its
/// series, then its window) read these few values, not the whole event, whose copy would retain
/// every one of its strings.
struct CallFacts {
    let weight: Double
    let success: Bool
    let statusCode: Int?
    let errorType: String?
    let costUSD: Double
    let inputTokens: Double
    let outputTokens: Double
    let requestBytes: Double
    let responseBytes: Double
    let durationMs: Double?
    let ttftMs: Double?

    init(_ outcome: CallOutcome, weight: Double) {
        self.weight = weight
        success = outcome.success
        statusCode = outcome.statusCode
        errorType = outcome.errorType
        costUSD = outcome.costUSD ?? 0
        inputTokens = outcome.inputTokens ?? 0
        outputTokens = outcome.outputTokens ?? 0
        requestBytes = outcome.requestBytes ?? 0
        responseBytes = outcome.responseBytes ?? 0
        durationMs = outcome.durationMs
        ttftMs = outcome.ttftMs
    }
}
