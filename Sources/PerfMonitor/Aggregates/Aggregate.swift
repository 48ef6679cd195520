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
    private var calls = HeapBox<CallTotals>()
    private var values = HeapBox<Distribution>()
    /// A custom metric's most recent value and when it was reported.
    public var lastValue: Double = 0
    public var lastValueAt: Double = -.infinity
    /// A counter's increments, added up (weighted).
    public var valueSum: Double = 0
    /// A set's distinct members: exactly up to 10,000, then estimated (±0.81 %).
    public var distinct = DistinctMembers()

    public init() {}

    /// What calls and lookups added (all zero for the kinds that have none).
    public subscript<Value>(dynamicMember path: WritableKeyPath<CallTotals, Value>) -> Value {
        get { callTotals[keyPath: path] }
        _modify { yield &callTotals[keyPath: path] }
    }

    /// Everything calls and lookups added, at once.
    var callTotals: CallTotals {
        get { calls.value }
        _modify { yield &calls.value }
    }

    /// Durations in milliseconds for calls (for a cache scope, its access times); the reported
    /// values for a custom metric.
    public var distribution: Distribution {
        get { values.value }
        _modify { yield &values.value }
    }

    /// Sets both parts on the heap as read from a snapshot, keeping none that is empty.
    mutating func restore(calls: CallTotals, values: Distribution) {
        self.calls = HeapBox(calls)
        self.values = HeapBox(values)
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
        if case let .batch(batch) = update {  // counted already: merged whole
            merge(batch.aggregate)
            if batch.kind == .counter { lastValue = valueSum }  // a counter's last value is its running sum
            return
        }
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
            distinct.insert(member)
        case .batch:
            break  // merged above
        }
    }

    private mutating func setLast(_ value: Double, at timestamp: Double) {
        if timestamp >= lastValueAt {
            lastValue = value
            lastValueAt = timestamp
        }
    }

    public mutating func merge(_ other: Aggregate) {
        total += other.total
        calls.merge(other.calls)
        values.merge(other.values)
        if other.lastValueAt >= lastValueAt {
            lastValue = other.lastValue
            lastValueAt = other.lastValueAt
        }
        valueSum += other.valueSum
        distinct.merge(other.distinct)
    }

    /// Approximate heap bytes (for `/performance/memory`).
    var heapBytes: Int {
        calls.heapBytes + values.heapBytes
            + distinct.heapBytes
    }
}

/// What calls (provider requests, requests, operations) and cache lookups add to an aggregate:
/// the part of it that custom metric series never need.
public struct CallTotals: HeapBoxed {
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
    private var retryCounts = HeapBox<Distribution>()

    static let empty = CallTotals()

    /// Adds what a pair used apart from its calls; counts no call.
    mutating func recordUsage(_ usage: ProviderUsage, weight: Double) {
        costUSD += (usage.costUSD ?? 0) * weight
        inputTokens += (usage.inputTokens ?? 0) * weight
        outputTokens += (usage.outputTokens ?? 0) * weight
        if let ttftMs = usage.ttftMs { ttft.record(ttftMs, weight: weight) }
    }

    /// Retries per request, of the requests that said (seed 004's `retry_count`): boxed, as few
    /// series have them.
    public var retries: Distribution {
        get { retryCounts.value }
        _modify { yield &retryCounts.value }
    }

    /// Sets the retries as read from a snapshot, keeping none when there are none.
    mutating func restore(retries: Distribution) {
        retryCounts = HeapBox(retries)
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
        retryCounts.merge(other.retryCounts)
    }

    var heapBytes: Int {
        retryCounts.heapBytes + ttft.heapBytes + (statusCodes.isEmpty ? 0 : 48 + statusCodes.capacity * 24)
            + (errorTypes.isEmpty ? 0 : 48 + errorTypes.capacity * 32)
    }
}

/// What a `HeapBox` can hold: a value with an empty state (what the box reads as until it is
/// first written), that merges and says its heap bytes.
protocol HeapBoxed: Sendable, Equatable {
    static var empty: Self { get }
    mutating func merge(_ other: Self)
    var heapBytes: Int { get }
}

extension Distribution: HeapBoxed {
    static let empty = Distribution()
}

/// A part of an aggregate that most kinds of series never use, kept on the heap once it is first
/// written and read as `Value.empty` until then: it costs those series one pointer. A
/// one-element array is the box (none until written), so that mutation in place, copy on write
/// and `Sendable` come from the standard library rather than a class of ours. An empty box equals
/// one holding the empty value.
struct HeapBox<Value: HeapBoxed>: Sendable, Equatable {
    private var storage: ContiguousArray<Value> = []

    init() {}

    /// Holds `value`, or nothing when it is empty (a restored aggregate keeps no empty part).
    init(_ value: Value) {
        if value != Value.empty { storage = [value] }
    }

    var value: Value {
        get { storage.first ?? Value.empty }
        _modify {
            if storage.isEmpty { storage.append(Value.empty) }
            yield &storage[0]
        }
    }

    /// Adds `other`'s value, sharing its box when this one has none yet.
    mutating func merge(_ other: HeapBox) {
        guard let theirs = other.storage.first else { return }
        if storage.isEmpty { storage = other.storage } else { storage[0].merge(theirs) }
    }

    /// The box's allocation (the array's header and its one element) and what its value holds.
    var heapBytes: Int { storage.first.map { 32 + MemoryLayout<Value>.stride + $0.heapBytes } ?? 0 }

    static func == (lhs: HeapBox, rhs: HeapBox) -> Bool { lhs.value == rhs.value }
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
