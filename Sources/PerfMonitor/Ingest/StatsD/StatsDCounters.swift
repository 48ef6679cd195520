import Synchronization

/// What the StatsD listeners received and did with it, for `/metrics` and `/performance/memory`:
/// lines by outcome, tags dropped, the UDP socket's kernel drops and the TCP connections.
public final class StatsDCounters: Sendable {
    public struct Figures: Sendable, Equatable {
        public var tally = StatsDTally()
        /// Datagrams the kernel dropped for a full receive buffer (SO_RXQ_OVFL), since start.
        public var udpDrops = 0
        public var tcpConnections = 0
        /// Connections closed at once: `statsd_max_tcp_connections` were open.
        public var tcpRefused = 0
        /// The receive buffer the kernel granted (its own count, twice what it holds of data).
        public var receiveBufferBytes = 0
    }

    private let figures = Mutex(Figures())

    public init() {}

    public var current: Figures { figures.withLock { $0 } }

    public func add(_ tally: StatsDTally) { figures.withLock { $0.tally.add(tally) } }

    public func update(_ body: (inout Figures) -> Void) { figures.withLock { body(&$0) } }
}
