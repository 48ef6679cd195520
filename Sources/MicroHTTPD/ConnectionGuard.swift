import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps clients that never finish a request from taking every connection, which libmicrohttpd
/// 0.9.75 lets happen in two ways measured against perfmond (issue 24, lock-outs 1 and 2):
/// - a client that sends half a request and closes leaves its socket in CLOSE_WAIT until the
///   idle timeout (with epoll, the end of the stream that arrives with the data is never read);
/// - a client trickling one header byte a second is never idle, so never timed out.
///
/// Every connection is tracked from libmicrohttpd's open and close notifications. A sweep every
/// `interval` shuts down (`shutdown(2)`, which libmicrohttpd then sees and cleans up) the
/// connections that wait for a request and whose peer has closed (seen on two sweeps in a row, or
/// once after `shedAfter`, so that a request still in the kernel's buffer is read first), that have waited for a complete request
/// head longer than `headerDeadline`, and — once open connections come within `reserve` of the
/// limit — the ones that have waited longest (over `shedAfter`), down to twice the reserve free,
/// so that clients queued in the listen backlog get in. A connection whose request target had too
/// many query parameters and got no request through within `shedAfter` is shut down too: there
/// libmicrohttpd ran out of memory for the query and will never answer (lock-out 3).
final class ConnectionGuard: Sendable {
    /// One connection, from its open notification to its close; kept in libmicrohttpd's socket
    /// context too, so that a request's start and end are an atomic store, not a lookup.
    final class Connection: Sendable {
        let fd: Int32
        /// A request's head is in and its answer not yet sent: never touched.
        let inRequest = Atomic<Bool>(false)
        /// Since when it has waited for a request head (opened, or its last request ended), in
        /// nanoseconds of the monotonic clock.
        let waitingSince = Atomic<Int64>(0)
        /// Sweeps in a row that found the peer gone (the sweep's own, under the registry lock).
        let hangUps = Atomic<Int>(0)
        let shutDown = Atomic<Bool>(false)
        /// When its request target was seen with too many query parameters (0: never), in
        /// nanoseconds of the monotonic clock.
        let tooManyQueryParametersSince = Atomic<Int64>(0)

        init(fd: Int32) {
            self.fd = fd
            waitingSince.store(monotonicNanoseconds(), ordering: .relaxed)
        }

        func requestStarted() { inRequest.store(true, ordering: .relaxed) }

        func markTooManyQueryParameters() { tooManyQueryParametersSince.store(monotonicNanoseconds(), ordering: .relaxed) }

        func requestEnded() {
            waitingSince.store(monotonicNanoseconds(), ordering: .relaxed)
            hangUps.store(0, ordering: .relaxed)
            tooManyQueryParametersSince.store(0, ordering: .relaxed)
            inRequest.store(false, ordering: .relaxed)
        }
    }

    /// Why a sweep shut a connection down (`reason` on `/metrics`).
    enum CloseReason: String, CaseIterable, Sendable {
        case peerGone = "peer_gone"
        case headerDeadline = "header_deadline"
        case shed
        case tooManyQueryParameters = "too_many_query_parameters"
    }

    /// What the sweeps shut down, by reason.
    typealias Closed = [CloseReason: Int]

    let headerDeadline: Duration
    let connectionLimit: Int
    let interval = Duration.milliseconds(25)
    /// Near the limit, connections that have waited this long for a request head may be shed (a
    /// real client sends its request as soon as it connects); one whose peer has gone is shut
    /// at its first sighting once it has waited this long (libmicrohttpd has read what it sent).
    static let shedAfter = Duration.milliseconds(50)
    private let open = Mutex<[ObjectIdentifier: Connection]>([:])
    private let closed = Mutex<Closed>([:])
    private let stopping = Atomic<Bool>(false)

    init(headerDeadline: Duration, connectionLimit: Int) {
        self.headerDeadline = headerDeadline
        self.connectionLimit = connectionLimit
    }

    /// Connections kept free for new clients: a sixteenth of the limit (none below 16, where
    /// shedding is off and a connection over the limit waits in the backlog as before).
    var reserve: Int { connectionLimit / 16 }

    var totals: Closed { closed.withLock { $0 } }

    func opened(_ connection: Connection) {
        open.withLock { $0[ObjectIdentifier(connection)] = connection }
    }

    /// Called by libmicrohttpd before it closes the socket: a number is never reused while tracked.
    func closedByServer(_ connection: Connection) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Sweeps every `interval` until `stop()` (a sweep is one poll(2) and takes microseconds).
    func start() {
        Task.detached { [self] in
            while !stopping.load(ordering: .relaxed) {
                sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    /// One sweep, under the registry's lock: libmicrohttpd's close notification waits for it,
    /// so no socket can be closed and its number reused between the poll and the shutdown.
    func sweep() {
        let now = monotonicNanoseconds()
        let deadline = Self.nanoseconds(headerDeadline), shedAfter = Self.nanoseconds(Self.shedAfter)
        let counts = open.withLock { open -> Closed in
            var counts: Closed = [:]
            let waiting = open.values.filter { !$0.inRequest.load(ordering: .relaxed) && !$0.shutDown.load(ordering: .relaxed) }
            guard !waiting.isEmpty else { return counts }
            var polled = waiting.map { pollfd(fd: $0.fd, events: cmhd_poll_peer_closed(), revents: 0) }
            _ = poll(&polled, nfds_t(polled.count), 0)
            var shut: [Connection] = []
            for (connection, result) in zip(waiting, polled) {
                let gone = result.revents & (cmhd_poll_peer_closed() | Int16(POLLHUP) | Int16(POLLERR)) != 0
                let hangUps = gone ? connection.hangUps.load(ordering: .relaxed) + 1 : 0
                connection.hangUps.store(hangUps, ordering: .relaxed)
                let waited = now - connection.waitingSince.load(ordering: .relaxed)
                let marked = connection.tooManyQueryParametersSince.load(ordering: .relaxed)
                if marked > 0, now - marked > shedAfter {
                    shut.append(connection)
                    counts[.tooManyQueryParameters, default: 0] += 1
                } else if hangUps >= 2 || (gone && waited > shedAfter) {
                    shut.append(connection)
                    counts[.peerGone, default: 0] += 1
                } else if waited > deadline {
                    shut.append(connection)
                    counts[.headerDeadline, default: 0] += 1
                }
            }
            // Past `limit − reserve` open, down to `limit − 2 × reserve`: room for the clients
            // queued in the listen backlog behind the ones that hold the connections.
            let stillOpen = open.values.count { !$0.shutDown.load(ordering: .relaxed) } - shut.count
            if reserve > 0, stillOpen > connectionLimit - reserve {
                let chosen = Set(shut.map(ObjectIdentifier.init))
                let oldest = waiting.filter { !chosen.contains(ObjectIdentifier($0)) && now - $0.waitingSince.load(ordering: .relaxed) > shedAfter }
                    .sorted { $0.waitingSince.load(ordering: .relaxed) < $1.waitingSince.load(ordering: .relaxed) }
                    .prefix(stillOpen - (connectionLimit - 2 * reserve))
                shut += oldest
                counts[.shed, default: 0] += oldest.count
            }
            for connection in shut {
                _ = shutdown(connection.fd, Int32(SHUT_RDWR))
                connection.shutDown.store(true, ordering: .relaxed)
            }
            return counts
        }
        guard !counts.isEmpty else { return }
        closed.withLock { total in
            for (reason, count) in counts { total[reason, default: 0] += count }
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// CLOCK_MONOTONIC in nanoseconds: what the guard's atomics hold.
private func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
