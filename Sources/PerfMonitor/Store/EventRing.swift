/// The most recent raw events, at least `capacity` of them once that many arrived. It keeps the
/// batches as they came (an array each), not a copy of every event: copying an event retains
/// each of its strings, and that copy was the largest cost of applying a batch. A batch goes when
/// the batches after it hold `capacity` events; the oldest one kept is cut down to what is still
/// needed once it holds more than `capacity` events nobody needs, so at most 2 × `capacity` are held.
struct EventRing: Sendable {
    private var batches: [ArraySlice<Event>] = []
    /// Where the oldest batch still kept starts (batches before it are gone).
    private var first = 0
    /// Events in the batches kept.
    private(set) var held = 0
    /// Every event ever appended: a follower's cursor (`appended(since:…)`).
    private(set) var appended = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Events available to read: the newest `capacity` at most.
    var count: Int { Swift.min(held, capacity) }

    mutating func append(_ batch: [Event]) {
        guard capacity > 0, !batch.isEmpty else { return }
        batches.append(batch[...])
        held += batch.count
        appended += batch.count
        while first < batches.count - 1, held - batches[first].count >= capacity {
            held -= batches[first].count
            batches[first] = []
            first += 1
        }
        let unneeded = held - capacity
        if unneeded > capacity {
            batches[first] = ArraySlice(Array(batches[first].dropFirst(unneeded)))
            held -= unneeded
        }
        // Forget the emptied places now and then, not on every batch.
        if first > 64, first * 2 > batches.count {
            batches.removeFirst(first)
            first = 0
        }
    }

    /// Up to `limit` of the newest events with a timestamp ≥ `since`, oldest first.
    func newest(limit: Int, matching filter: EventFilter) -> [Event] {
        var result: [Event] = []
        var unread = count
        var index = batches.count - 1
        while index >= first, unread > 0, result.count < limit {
            for event in batches[index].reversed() {
                guard unread > 0, result.count < limit else { break }
                unread -= 1
                if filter.matches(event) { result.append(event) }
            }
            index -= 1
        }
        return result.reversed()
    }

    /// The events appended after `cursor` (an earlier `appended`) that match, up to the newest
    /// `limit`, oldest first; `missed` counts those after the cursor no longer here or past the limit.
    func appended(since cursor: Int, limit: Int, matching filter: EventFilter) -> (events: [Event], missed: Int) {
        let new = Swift.max(0, appended - cursor)
        var result: [Event] = []
        var unread = Swift.min(count, new), read = 0, passedOver = 0
        var index = batches.count - 1
        while index >= first, unread > 0 {
            for event in batches[index].reversed() where unread > 0 {
                unread -= 1
                read += 1
                guard filter.matches(event) else { continue }
                if result.count < limit { result.append(event) } else { passedOver += 1 }
            }
            index -= 1
        }
        return (result.reversed(), new - read + passedOver)
    }

    /// The heap bytes the kept events' strings and metadata hold, beyond the events themselves.
    var stringBytes: Int {
        var bytes = 0
        for batch in batches[first...] {
            for event in batch { bytes += event.heapBytes }
        }
        return bytes
    }
}

extension Event {
    /// About what this event's strings and metadata hold on the heap (a string of more than 15
    /// bytes is stored out of line, with a 32-byte header): what `bytes_estimate` counts.
    var heapBytes: Int {
        let held = Self.held
        var bytes = metadata.isEmpty ? 0 : 64 + metadata.reduce(0) { $0 + held($1.key) + held($1.value) + 32 }
        switch kind {
        case let .providerCall(call): bytes += held(call.provider) + held(call.model) + held(call.requestID) + call.outcome.heapBytes
        case let .providerStart(start): bytes += held(start.requestID) + held(start.provider) + held(start.model)
        case let .requestStart(start): bytes += held(start.requestID) + held(start.endpoint) + held(start.method) + held(start.provider) + held(start.model)
        case let .requestEnd(end): bytes += held(end.requestID) + held(end.endpoint) + held(end.provider) + held(end.model) + end.outcome.heapBytes
        case let .request(call): bytes += held(call.endpoint) + held(call.provider) + held(call.model) + call.outcome.heapBytes
        case let .operation(sample): bytes += held(sample.component) + held(sample.operation) + sample.outcome.heapBytes
        case let .cache(lookup): bytes += held(lookup.component) + held(lookup.provider)
        case let .error(report):
            bytes += held(report.errorType) + held(report.message) + held(report.provider) + held(report.model) + held(report.endpoint)
                + held(report.component) + held(report.operation)
        case let .rateLimit(hit): bytes += held(hit.provider) + held(hit.model)
        case let .failover(failover): bytes += held(failover.from) + held(failover.to) + held(failover.model)
        case let .providerUsage(usage): bytes += held(usage.provider) + held(usage.model)
        case let .metric(sample):
            bytes += held(sample.name) + held(sample.unit) + sample.labels.names.reduce(0) { $0 + held($1) + 16 }
                + sample.labels.values.reduce(0) { $0 + held($1) + 16 }
            if case let .set(member) = sample.update { bytes += held(member) }
            if case let .batch(batch) = sample.update { bytes += batch.aggregate.heapBytes }
        }
        return bytes
    }

    /// What a string holds out of line: nothing up to 15 bytes (stored in place), else its bytes
    /// and a 32-byte header.
    static func held(_ text: String?) -> Int {
        guard let count = text?.utf8.count, count > 15 else { return 0 }
        return count + 32
    }
}

extension CallOutcome {
    var heapBytes: Int { Event.held(errorType) + Event.held(errorMessage) }
}
