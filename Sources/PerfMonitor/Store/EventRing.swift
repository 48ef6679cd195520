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
    func newest(limit: Int, since: Double?) -> [Event] {
        var result: [Event] = []
        var unread = count
        var index = batches.count - 1
        while index >= first, unread > 0, result.count < limit {
            for event in batches[index].reversed() {
                guard unread > 0, result.count < limit else { break }
                unread -= 1
                if since.map({ event.timestamp >= $0 }) ?? true { result.append(event) }
            }
            index -= 1
        }
        return result.reversed()
    }
}
