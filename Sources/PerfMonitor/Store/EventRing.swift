/// The most recent raw events, in a fixed-capacity ring: the oldest is overwritten first.
struct EventRing: Sendable {
    private var storage: [Event] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { storage.count }

    mutating func append(_ event: Event) {
        guard capacity > 0 else { return }
        if storage.count < capacity {
            storage.append(event)
        } else {
            storage[next] = event
        }
        next = (next + 1) % capacity
    }

    /// Up to `limit` of the newest events with a timestamp ≥ `since`, oldest first.
    func newest(limit: Int, since: Double?) -> [Event] {
        var result: [Event] = []
        let total = storage.count
        var offset = 1
        while offset <= total, result.count < limit {
            let event = storage[(next - offset + total * 2) % total]
            if since.map({ event.timestamp >= $0 }) ?? true { result.append(event) }
            offset += 1
        }
        return result.reversed()
    }
}
