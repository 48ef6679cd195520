/// Everything counted for one series over some span of time: exact (weighted) counters and sums,
/// and the distributions. One type for every kind of series, so that cumulative totals, window
/// buckets and their roll-ups all merge the same way.
///
/// Kept small, since a series holds one per window bucket: what only calls and cache lookups add
/// (`CallTotals`, read through this type as if it were its own: `aggregate.successes`) and the
/// value distribution sit on the heap, created by the first update that needs them. A custom
/// counter's bucket is 64 bytes, where every field inline cost 300.
@dynamicMemberLookup
public struct Aggregate: Sendable, Equatable {
    /// Calls, requests or operations completed (or, for a custom metric, values reported).
    public var total: Double = 0
    private var calls: HeapBox<CallTotals>?
    private var values: HeapBox<Distribution>?
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

    /// What calls and lookups added (all zero for the kinds that have none).
    public subscript<Value>(dynamicMember path: WritableKeyPath<CallTotals, Value>) -> Value {
        get { callTotals[keyPath: path] }
        _modify { yield &callTotals[keyPath: path] }
    }

    /// Everything calls and lookups added, at once (the snapshot reader sets it whole).
    var callTotals: CallTotals {
        get { calls?.value ?? CallTotals.none }
        _modify {
            if calls == nil { calls = HeapBox(CallTotals.none) }
            yield &calls!.value
        }
    }

    /// Durations in milliseconds for calls (for a cache scope, its access times); the reported
    /// values for a custom metric.
    public var distribution: Distribution {
        get { values?.value ?? Distribution() }
        _modify {
            if values == nil { values = HeapBox(Distribution()) }
            yield &values!.value
        }
    }

    /// Counts one completed call (provider request, request, operation).
    mutating func recordCall(_ call: CallFacts) {
        total += call.weight
        callTotals.record(call)
        if let durationMs = call.durationMs { distribution.record(durationMs, weight: call.weight) }
    }

    /// Counts an error reported on its own (`error`, `timeout` events): by type, not as a call.
    mutating func recordError(type: String, weight: Double) {
        callTotals.errorTypes[type, default: 0] += weight
    }

    /// Applies one custom metric event (values of a time unit already in ms); an untyped value
    /// feeds both the last value and the distribution.
    mutating func recordMetric(_ update: MetricUpdate, at timestamp: Double, weight: Double) {
        total += weight
        switch update {
        case let .untyped(value), let .gauge(value):
            setLast(value, at: timestamp)
            distribution.record(value, weight: weight)
        case let .counter(increment):
            valueSum += increment * weight
            setLast(valueSum, at: timestamp)
        case let .gaugeDelta(change):
            setLast(lastValue + change, at: Swift.max(timestamp, lastValueAt))
            distribution.record(lastValue, weight: weight)
        case let .histogram(value):
            distribution.record(value, weight: weight)
        case let .set(member):
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
        if let theirs = other.calls {
            if calls == nil { calls = theirs } else { callTotals.merge(theirs.value) }
        }
        if let theirs = other.values {
            if values == nil { values = theirs } else { distribution.merge(theirs.value) }
        }
        if other.lastValueAt >= lastValueAt {
            lastValue = other.lastValue
            lastValueAt = other.lastValueAt
        }
        valueSum += other.valueSum
        for member in other.members { insert(member) }
        membersCapped = membersCapped || other.membersCapped
    }

    /// Equal when everything counted is: a part not yet on the heap equals an empty one.
    public static func == (lhs: Aggregate, rhs: Aggregate) -> Bool {
        lhs.total == rhs.total && lhs.callTotals == rhs.callTotals && lhs.distribution == rhs.distribution
            && lhs.lastValue == rhs.lastValue && lhs.lastValueAt == rhs.lastValueAt && lhs.valueSum == rhs.valueSum
            && lhs.members == rhs.members && lhs.membersCapped == rhs.membersCapped
    }

    /// Approximate heap bytes (for `/performance/memory`).
    var heapBytes: Int {
        (calls.map { HeapBox<CallTotals>.bytes + $0.value.heapBytes } ?? 0)
            + (values.map { HeapBox<Distribution>.bytes + $0.value.heapBytes } ?? 0)
            + (members.isEmpty ? 0 : 48 + members.reduce(members.capacity * 16) { $0 + $1.utf8.count })
    }
}

/// What calls (provider requests, requests, operations) and cache lookups add to an aggregate:
/// the part of it that custom metric series never need.
public struct CallTotals: Sendable, Equatable {
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
    /// Time to first token in milliseconds (streaming LLM calls).
    public var ttft = Distribution()
    private var retryCounts: HeapBox<Distribution>?

    static let none = CallTotals()

    /// Retries per request, of the requests that said (seed 004's `retry_count`): boxed, as few
    /// series have them.
    public var retries: Distribution {
        get { retryCounts?.value ?? Distribution() }
        _modify {
            if retryCounts == nil { retryCounts = HeapBox(Distribution()) }
            yield &retryCounts!.value
        }
    }

    mutating func record(_ call: CallFacts) {
        let weight = call.weight
        if call.success { successes += weight } else { failures += weight }
        if let code = call.statusCode { statusCodes[code, default: 0] += weight }
        if let type = call.errorType { errorTypes[type, default: 0] += weight }
        costUSD += call.costUSD * weight
        inputTokens += call.inputTokens * weight
        outputTokens += call.outputTokens * weight
        requestBytes += call.requestBytes * weight
        responseBytes += call.responseBytes * weight
        if let ttftMs = call.ttftMs { ttft.record(ttftMs, weight: weight) }
        if let retryCount = call.retryCount { retries.record(retryCount, weight: weight) }
    }

    mutating func merge(_ other: CallTotals) {
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
        ttft.merge(other.ttft)
        if let theirs = other.retryCounts {
            if retryCounts == nil { retryCounts = theirs } else { retries.merge(theirs.value) }
        }
    }

    /// Equal when everything counted is: retries not yet on the heap equal none.
    public static func == (lhs: CallTotals, rhs: CallTotals) -> Bool {
        lhs.successes == rhs.successes && lhs.failures == rhs.failures && lhs.statusCodes == rhs.statusCodes
            && lhs.errorTypes == rhs.errorTypes && lhs.costUSD == rhs.costUSD && lhs.inputTokens == rhs.inputTokens
            && lhs.outputTokens == rhs.outputTokens && lhs.requestBytes == rhs.requestBytes && lhs.responseBytes == rhs.responseBytes
            && lhs.rateLimitHits == rhs.rateLimitHits && lhs.cacheHits == rhs.cacheHits && lhs.cacheMisses == rhs.cacheMisses
            && lhs.ttft == rhs.ttft && lhs.retries == rhs.retries
    }

    var heapBytes: Int {
        (retryCounts.map { HeapBox<Distribution>.bytes + $0.value.heapBytes } ?? 0) + ttft.heapBytes + (statusCodes.isEmpty ? 0 : 48 + statusCodes.capacity * 24)
            + (errorTypes.isEmpty ? 0 : 48 + errorTypes.capacity * 32)
    }
}

/// A value on the heap, copied on write: lets an aggregate carry parts that most kinds of series
/// never use for the cost of one pointer. A one-element array is the box, so that mutation in
/// place, copy on write and `Sendable` come from the standard library rather than a class of ours.
struct HeapBox<Value: Sendable & Equatable>: Sendable, Equatable {
    private var storage: ContiguousArray<Value>

    init(_ value: Value) { storage = [value] }

    var value: Value {
        get { storage[0] }
        _modify { yield &storage[0] }
    }

    /// The box's own allocation: the array's header and its one element.
    static var bytes: Int { 32 + MemoryLayout<Value>.stride }
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
    let retryCount: Double?

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
        retryCount = outcome.retryCount
    }
}
