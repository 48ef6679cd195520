import CSystem
import Foundation
import PerfMonitor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The StatsD and DogStatsD listeners (api.md §6.3): a UDP socket read in `recvmmsg` batches and
/// a TCP socket of newline-framed streams, on one thread of the daemon's own (libmicrohttpd has no
/// UDP). Each batch of lines becomes events handed to the ingest buffer at once; the buffer asks
/// for what was received before every drain, so a query counts a line received before it started.
public final class StatsDListener: Sendable {
    /// Where it listens (port 0 in the configuration: the ports the kernel picked).
    public struct Ports: Sendable, Equatable {
        public let udp: Int
        public let tcp: Int
    }

    public let ports: Ports
    /// The receive buffer the kernel granted the UDP socket (its count, twice the data it holds).
    public let receiveBufferBytes: Int
    private let udp: Socket
    private let tcp: Socket
    private let maxConnections: Int
    private let buffer: IngestBuffer
    private let counters: StatsDCounters
    private let clock: any StoreClock
    private let state: Mutex<State>
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    /// Datagrams read per `recvmmsg`, and how many such calls one turn makes at most (the lock is
    /// held that long).
    static let datagramsPerRead = 64
    static let readsPerTurn = 16
    /// How long a full ingest buffer holds the thread before what it read is dropped (`queue_full`).
    static let roomWaitSeconds = 1.0
    /// Room for the largest UDP payload.
    static let datagramBytes = 65_536

    /// What the thread and `flush` share: the sockets' scratch memory, the open connections and
    /// the reader with its events not yet handed over.
    private struct State {
        var reader: StatsDReader
        var connections: [Connection] = []
        let datagrams: UnsafeMutableRawBufferPointer
        var lengths: [Int]
        var truncated: [UInt8]
        var kernelDrops: UInt32 = 0
        let streamScratch: UnsafeMutableRawBufferPointer
        /// Events the buffer had no room for: handed over first at the next turn or flush.
        var undelivered: (events: [Event], tally: StatsDTally)?
    }

    /// Binds both sockets; a failure to bind says which and why (the daemon exits 2).
    public init(host: String, port: Int, receiveBuffer: Int, maxConnections: Int, reader: StatsDReader,
                buffer: IngestBuffer, counters: StatsDCounters, clock: any StoreClock) throws {
        let udp = try Socket.bound(.datagram, host: host, port: port)
        let tcp: Socket
        do {
            try udp.set(SO_RXQ_OVFL, 1)
            receiveBufferBytes = try udp.setReceiveBuffer(receiveBuffer)
            tcp = try Socket.bound(.stream, host: host, port: port)
        } catch {
            udp.close()
            throw error
        }
        self.udp = udp
        self.tcp = tcp
        ports = Ports(udp: udp.port, tcp: tcp.port)
        self.maxConnections = maxConnections
        self.buffer = buffer
        self.counters = counters
        self.clock = clock
        let slots = Self.datagramsPerRead
        state = Mutex(State(reader: reader,
                            datagrams: .allocate(byteCount: slots * Self.datagramBytes, alignment: 16),
                            lengths: [Int](repeating: 0, count: slots), truncated: [UInt8](repeating: 0, count: slots),
                            streamScratch: .allocate(byteCount: StatsDReader.maxLineBytes * 8, alignment: 16)))
        counters.update { $0.receiveBufferBytes = receiveBufferBytes }
    }

    deinit {
        state.withLock { state in
            state.datagrams.deallocate()
            state.streamScratch.deallocate()
        }
    }

    /// Starts the thread that reads both sockets, and asks the buffer to flush it before each drain.
    public func start() {
        buffer.addSource { [weak self] in self?.flush() }
        let thread = Thread { [self] in run() }
        thread.name = "statsd"
        thread.start()
    }

    /// Reads what is waiting on the sockets now and hands it to the buffer (without waiting for room).
    public func flush() {
        guard !stopped.load(ordering: .acquiring) else { return }
        _ = state.withLock { handOver(&$0) }
    }

    /// The mapping after a reload.
    public func replaceMapping(_ mapping: StatsDMapping) {
        state.withLock { $0.reader.replaceMapping(mapping) }
    }

    /// Stops reading once what was received has been handed over, then closes the sockets.
    public func stop() async {
        stopping.store(true, ordering: .releasing)
        while !stopped.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            wait()
            turn()
        }
        turn()  // what arrived before the stop
        state.withLock { state in
            for connection in state.connections { connection.socket.close() }
            state.connections = []
        }
        udp.close()
        tcp.close()
        stopped.store(true, ordering: .releasing)
    }

    /// Sleeps until a socket is readable, or 100 ms (so that a stop is seen).
    private func wait() {
        var descriptors = [pollfd(fd: udp.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: tcp.descriptor, events: Int16(POLLIN), revents: 0)]
        state.withLock { state in
            for connection in state.connections { descriptors.append(pollfd(fd: connection.socket.descriptor, events: Int16(POLLIN), revents: 0)) }
        }
        _ = poll(&descriptors, nfds_t(descriptors.count), 100)
    }

    /// One turn: read what is waiting and hand it over; while the buffer is full, wait for room
    /// (the socket buffer holds what arrives meanwhile) up to `roomWaitSeconds`, then drop and count it.
    private func turn() {
        let deadline = ContinuousClock.now + .milliseconds(Int64(Self.roomWaitSeconds * 1000))
        while !state.withLock({ handOver(&$0) }) {
            guard ContinuousClock.now < deadline else {
                state.withLock { state in
                    if let dropped = state.undelivered { counters.add(dropped.tally.refused(as: buffer.isClosed ? .shuttingDown : .queueFull)) }
                    state.undelivered = nil
                }
                return
            }
            buffer.wakeDrainer()
            usleep(2000)
        }
    }

    /// Under the lock, so that a flush finds every line received either handed over or waiting in
    /// `undelivered`: first what waits, then what the sockets hold. False while the buffer is full.
    private func handOver(_ state: inout State) -> Bool {
        if let waiting = state.undelivered {
            guard buffer.append(waiting.events) == .accepted else { return false }
            counters.add(waiting.tally)
            state.undelivered = nil
        }
        receive(&state)
        let received = state.reader.take()
        guard !received.events.isEmpty else {
            counters.add(received.tally)
            return true
        }
        switch buffer.append(received.events) {
        case .accepted:
            counters.add(received.tally)
            return true
        case .full:
            state.undelivered = received
            return false
        case .closed:
            counters.add(received.tally.refused(as: .shuttingDown))
            return true
        }
    }

    /// Reads every socket that has something, without blocking.
    private func receive(_ state: inout State) {
        let now = clock.now()
        receiveDatagrams(&state, at: now)
        acceptConnections(&state)
        var index = 0
        while index < state.connections.count {
            if state.connections[index].read(into: state.streamScratch, with: &state.reader, at: now) {
                index += 1
            } else {
                state.connections[index].socket.close()
                state.connections.remove(at: index)
            }
        }
        let open = state.connections.count
        counters.update { $0.tcpConnections = open }
    }

    private func receiveDatagrams(_ state: inout State, at now: Double) {
        let slot = Self.datagramBytes
        for _ in 0..<Self.readsPerTurn {
            let base = state.datagrams.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var drops = state.kernelDrops
            let received = state.lengths.withUnsafeMutableBufferPointer { lengths in
                state.truncated.withUnsafeMutableBufferPointer { truncated in
                    csystem_receive_datagrams(udp.descriptor, base, slot, UInt32(Self.datagramsPerRead),
                                              lengths.baseAddress!, truncated.baseAddress!, &drops)
                }
            }
            if drops != state.kernelDrops {
                state.kernelDrops = drops
                counters.update { $0.udpDrops = Int(drops) }
            }
            guard received > 0 else { return }
            for index in 0..<Int(received) {
                if state.truncated[index] != 0 {
                    state.reader.count(.tooLong)
                    continue
                }
                state.reader.read(UnsafeBufferPointer(start: base + index * slot, count: state.lengths[index]), at: now)
            }
            guard received == Self.datagramsPerRead else { return }
        }
    }

    private func acceptConnections(_ state: inout State) {
        while let connection = tcp.accept() {
            if state.connections.count >= maxConnections {
                connection.close()
                counters.update { $0.tcpRefused += 1 }
            } else {
                state.connections.append(Connection(socket: connection))
            }
        }
    }
}

/// One TCP client: the bytes of a line not yet complete, and whether the rest of an over-long
/// line is being skipped.
struct Connection {
    let socket: Socket
    private var partial: [UInt8] = []
    private var skippingLongLine = false

    init(socket: Socket) { self.socket = socket }

    /// Reads what is waiting and hands complete lines to `reader`; false once the peer has closed
    /// (a last line without its newline is read then).
    mutating func read(into scratch: UnsafeMutableRawBufferPointer, with reader: inout StatsDReader, at now: Double) -> Bool {
        for _ in 0..<16 {
            switch socket.read(into: scratch) {
            case .wouldBlock:
                return true
            case .closed:
                if !partial.isEmpty, !skippingLongLine { partial.withUnsafeBufferPointer { reader.read(line: $0[...], at: now) } }
                return false
            case let .bytes(count):
                take(UnsafeBufferPointer(start: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count), &reader, now)
            }
        }
        return true
    }

    private mutating func take(_ bytes: UnsafeBufferPointer<UInt8>, _ reader: inout StatsDReader, _ now: Double) {
        let newline = UInt8(ascii: "\n")
        var start = 0
        if !partial.isEmpty || skippingLongLine {
            guard let end = bytes.firstIndex(of: newline) else {
                keep(bytes[...], &reader)
                return
            }
            if skippingLongLine {
                skippingLongLine = false
            } else {
                keep(bytes[..<end], &reader)
                if !skippingLongLine { partial.withUnsafeBufferPointer { reader.read(line: $0[...], at: now) } }
                skippingLongLine = false
            }
            partial.removeAll(keepingCapacity: true)
            start = end + 1
        }
        guard let lastNewline = bytes[start...].lastIndex(of: newline) else {
            keep(bytes[start...], &reader)
            return
        }
        reader.read(UnsafeBufferPointer(rebasing: bytes[start..<lastNewline]), at: now)
        keep(bytes[(lastNewline + 1)...], &reader)
    }

    /// Keeps the start of a line; past the longest line it is refused (`too_long`) and skipped to its newline.
    private mutating func keep(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ reader: inout StatsDReader) {
        guard !skippingLongLine, !bytes.isEmpty else { return }
        if partial.count + bytes.count > StatsDReader.maxLineBytes {
            reader.count(.tooLong)
            partial.removeAll(keepingCapacity: true)
            skippingLongLine = true
        } else {
            partial.append(contentsOf: bytes)
        }
    }
}
