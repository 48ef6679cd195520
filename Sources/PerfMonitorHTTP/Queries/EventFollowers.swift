import MicroHTTPD
import Synchronization

/// The followers of `/performance/events` (Server-Sent Events): how many are open, at most
/// `maxFollowers`, and what became of them — events sent and missed, streams ended by reason,
/// followers refused — for `/metrics` and `/performance/memory`.
public final class EventFollowers: Sendable {
    public static let maxFollowers = 32

    public struct Figures: Sendable, Equatable {
        public var open = 0
        public var refused = 0
        public var eventsSent = 0
        /// Events a follower did not get: the raw-event ring moved on before it read them.
        public var eventsMissed = 0
        public var ended: [ResponseStream.End: Int] = [:]
    }

    private let figures = Mutex(Figures())

    public init() {}

    public var current: Figures { figures.withLock { $0 } }

    /// Takes a new follower, or refuses it (counted) when `maxFollowers` are open.
    func open() -> Bool {
        figures.withLock { figures in
            guard figures.open < Self.maxFollowers else {
                figures.refused += 1
                return false
            }
            figures.open += 1
            return true
        }
    }

    func sent(_ events: Int, missed: Int) {
        figures.withLock { figures in
            figures.eventsSent += events
            figures.eventsMissed += missed
        }
    }

    func closed(_ end: ResponseStream.End) {
        figures.withLock { figures in
            figures.open -= 1
            figures.ended[end, default: 0] += 1
        }
    }
}
