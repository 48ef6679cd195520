import Synchronization

/// Remote write's bounded queue of compressed requests, oldest first, with what became of their
/// samples. Bounded in samples (`remote_write_queue_samples`): a push that would pass the bound
/// drops the oldest requests first, counted `queue_full`, so that a receiver that comes back gets
/// the latest state and as much history as fit. A native histogram counts as one sample.
public final class RemoteWriteQueue: Sendable {
    /// One request ready to send.
    struct Entry: Sendable {
        let body: [UInt8]
        let samples: Int
    }

    /// Why samples were dropped.
    public enum DropReason: String, CaseIterable, Sendable {
        /// The queue was full: the oldest requests made room.
        case queueFull = "queue_full"
        /// The receiver refused them with a 4xx other than 429 (a retry would be refused too).
        case rejected
        /// perfmond stopped before they could be sent.
        case shutdown
    }

    /// Counts since start, for `/metrics` and `/performance/memory`.
    public struct Figures: Sendable, Equatable {
        public var sent = 0
        public var retried = 0
        public var dropped: [DropReason: Int] = [:]
        public var queuedSamples = 0
        /// Requests waiting (read from the queue itself).
        public var queuedRequests = 0
        public var failedAttempts = 0
        public var lastError = ""
        public var lastSuccessAt: Double?
    }

    public let capacity: Int
    private let state: Mutex<(entries: [Entry], figures: Figures)>

    public init(capacity: Int) {
        self.capacity = capacity
        state = Mutex(([], Figures()))
    }

    public var current: Figures {
        state.withLock { state in
            var figures = state.figures
            figures.queuedRequests = state.entries.count
            return figures
        }
    }

    func push(_ entry: Entry) {
        state.withLock { state in
            guard entry.samples <= capacity else {
                state.figures.dropped[.queueFull, default: 0] += entry.samples
                return
            }
            while state.figures.queuedSamples + entry.samples > capacity, !state.entries.isEmpty {
                let oldest = state.entries.removeFirst()
                state.figures.queuedSamples -= oldest.samples
                state.figures.dropped[.queueFull, default: 0] += oldest.samples
            }
            state.entries.append(entry)
            state.figures.queuedSamples += entry.samples
        }
    }

    var first: Entry? { state.withLock { $0.entries.first } }

    /// The first entry was delivered, or refused for good: it leaves the queue.
    func removeFirst(_ outcome: Outcome, at time: Double) {
        state.withLock { state in
            guard !state.entries.isEmpty else { return }
            let entry = state.entries.removeFirst()
            state.figures.queuedSamples -= entry.samples
            switch outcome {
            case .sent:
                state.figures.sent += entry.samples
                state.figures.lastSuccessAt = time
            case let .dropped(reason, error):
                state.figures.dropped[reason, default: 0] += entry.samples
                if let error { state.figures.lastError = error }
            }
        }
    }

    /// The first entry's attempt failed and it will be tried again.
    func noteRetry(error: String) {
        state.withLock { state in
            state.figures.retried += state.entries.first?.samples ?? 0
            state.figures.failedAttempts += 1
            state.figures.lastError = error
        }
    }

    /// Everything still queued is given up (a stop).
    func dropAll() {
        state.withLock { state in
            state.figures.dropped[.shutdown, default: 0] += state.figures.queuedSamples
            state.entries.removeAll()
            state.figures.queuedSamples = 0
        }
    }

    enum Outcome {
        case sent
        case dropped(DropReason, error: String?)
    }
}
