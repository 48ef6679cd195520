import Synchronization

/// The bounded hand-off between the server threads that decode events and the store actor that
/// applies them: appending is a mutex and one array append per batch (the batch is kept as it
/// is, its events are not copied), never an actor hop per event.
/// A batch is taken whole or refused whole, so a refused client can simply retry.
public final class IngestBuffer: Sendable {
    public enum Outcome: Sendable, Equatable {
        case accepted
        /// Over capacity: nothing of the batch was kept.
        case full
        /// Shutting down: nothing of the batch was kept.
        case closed
    }

    private struct State {
        var batches: [[Event]] = []
        /// Events in `batches`.
        var count = 0
        var closed = false
    }

    public let capacity: Int
    /// Depth at which the drainer is woken. Below it events wait for the next query (which
    /// drains first) or the maintenance tick: waking a task per small request would cost more
    /// than the request itself.
    public let highWaterMark: Int
    private let state = Mutex(State())
    /// Ways in that hold what they received until asked (the StatsD listener): each is asked to
    /// hand it over before every `takeAll`, so a query counts a line received before it started.
    private let sources = Mutex<[@Sendable () -> Void]>([])
    private let wakeUp: AsyncStream<Void>.Continuation
    /// Yields when the buffer crosses its high-water mark; the drainer waits on it.
    public let highWater: AsyncStream<Void>

    public init(capacity: Int) {
        self.capacity = capacity
        self.highWaterMark = Swift.max(1, Swift.min(capacity / 8, 2048))
        (highWater, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func append(_ events: [Event]) -> Outcome {
        let outcome = state.withLock { state -> (Outcome, crossed: Bool) in
            if state.closed { return (.closed, false) }
            guard state.count + events.count <= capacity else { return (.full, false) }
            let before = state.count
            state.batches.append(events)
            state.count += events.count
            return (.accepted, before < highWaterMark && state.count >= highWaterMark)
        }
        if outcome.crossed { wakeUp.yield() }
        return outcome.0
    }

    /// Appends `events` once there is room for them, waiting at most `seconds`: for clients that
    /// do not retry a refusal quickly.
    public func append(_ events: [Event], waitingUpTo seconds: Double) async -> Outcome {
        guard events.count <= capacity else { return append(events) }  // never room: refused at once
        return await retryWhileFull(upTo: seconds, { append(events) }, outcome: { $0 })
    }

    /// Runs `attempt` (which appends) until its outcome is not `.full` or `seconds` have passed,
    /// waking the drainer and looking again every few milliseconds (a drain frees the whole
    /// buffer at once, so a finer signal would not wait less). For a way in that must redo more
    /// than the append on each try (OTLP's cumulative streams).
    public func retryWhileFull<Result>(upTo seconds: Double, _ attempt: () -> Result, outcome: (Result) -> Outcome) async -> Result {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while true {
            let result = attempt()
            guard outcome(result) == .full, ContinuousClock.now < deadline else { return result }
            wakeUp.yield()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Adds a way in that `takeAll` asks to hand over what it holds.
    public func addSource(flush: @escaping @Sendable () -> Void) {
        sources.withLock { $0.append(flush) }
    }

    /// Asks the drainer to apply what is buffered now (a way in that waits for room).
    public func wakeDrainer() { wakeUp.yield() }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Every batch buffered, oldest first (the sources asked first); the buffer is left empty.
    public func takeAll() -> [[Event]] {
        for flush in sources.withLock({ $0 }) { flush() }
        return state.withLock { state in
            var taken: [[Event]] = []
            swap(&taken, &state.batches)
            state.count = 0
            return taken
        }
    }

    public var depth: Int { state.withLock { $0.count } }

    /// Refuses every later append with `.closed` and ends `highWater`.
    public func close() {
        state.withLock { $0.closed = true }
        wakeUp.finish()
    }
}
