import CMicroHTTPD
import Synchronization

/// A response body written while it is sent, of no length known in advance (chunked): what
/// Server-Sent Events need. The producer `write`s pieces from any thread; libmicrohttpd takes them
/// as the socket has room. With nothing to send the connection is suspended — the pattern
/// microhttpd.h prescribes for a content reader without data — and the next write resumes it.
/// Bounded: a client that reads too slowly to take `maxPendingBytes` is cut off.
public final class ResponseStream: Sendable {
    /// Why a stream ended.
    public enum End: String, Sendable, CaseIterable {
        /// The producer finished it.
        case finished
        /// The client went away.
        case clientGone = "client_gone"
        /// More than `maxPendingBytes` waited for a client that did not read them.
        case tooSlow = "too_slow"
        /// The server stopped.
        case shutdown
    }

    private struct State {
        var pending: [UInt8] = []
        var end: End?
        var connection: ConnectionHandle?
        var suspended = false
        /// libmicrohttpd let go of the response: the connection may be gone, never resume it.
        var released = false
        /// Tells the server the stream is no longer open.
        var untrack: (@Sendable () -> Void)?
    }

    public let maxPendingBytes: Int
    private let state = Mutex(State())
    private let ended: @Sendable (End) -> Void

    /// `ended` is called once, when the stream ends for whatever reason.
    public init(maxPendingBytes: Int, ended: @escaping @Sendable (End) -> Void = { _ in }) {
        self.maxPendingBytes = maxPendingBytes
        self.ended = ended
    }

    /// Queues bytes for the client; false once the stream has ended (the producer should stop).
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        let (open, endedNow) = state.withLock { state -> (Bool, End?) in
            guard state.end == nil else { return (false, nil) }
            guard state.pending.count + bytes.count <= maxPendingBytes else {
                state.end = .tooSlow
                state.pending.removeAll()
                Self.resume(&state)
                return (false, .tooSlow)
            }
            state.pending.append(contentsOf: bytes)
            Self.resume(&state)
            return (true, nil)
        }
        if let endedNow { ended(endedNow) }
        return open
    }

    /// Ends the stream once what is queued has been sent.
    public func finish(_ reason: End = .finished) {
        let endedNow = state.withLock { state -> Bool in
            guard state.end == nil else { return false }
            state.end = reason
            Self.resume(&state)
            return true
        }
        if endedNow { ended(reason) }
    }

    public var isOpen: Bool { state.withLock { $0.end == nil } }

    private static func resume(_ state: inout State) {
        guard state.suspended, !state.released, let connection = state.connection else { return }
        state.suspended = false
        MHD_resume_connection(connection.pointer)
    }

    /// The libmicrohttpd response reading from this stream, for `connection`; `untrack` is called
    /// once libmicrohttpd lets go of it.
    func response(on connection: OpaquePointer, untrack: @escaping @Sendable () -> Void) -> OpaquePointer? {
        state.withLock { state in
            state.connection = ConnectionHandle(pointer: connection)
            state.untrack = untrack
        }
        let retained = Unmanaged.passRetained(self).toOpaque()
        // UInt64.max is MHD_SIZE_UNKNOWN: the body is sent chunked.
        guard let response = MHD_create_response_from_callback(UInt64.max, 16 * 1024, Self.read, retained, Self.free) else {
            Unmanaged<ResponseStream>.fromOpaque(retained).release()
            return nil
        }
        return response
    }

    /// libmicrohttpd asks for the next bytes: what is queued, the end, or nothing yet (suspend).
    private func next(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        state.withLock { state in
            if !state.pending.isEmpty {
                let count = Swift.min(capacity, state.pending.count)
                state.pending.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: count) }
                state.pending.removeFirst(count)
                return count
            }
            switch state.end {
            case .tooSlow?: return MHD_CONTENT_READER_END_WITH_ERROR
            case .some: return MHD_CONTENT_READER_END_OF_STREAM
            case nil:
                guard let connection = state.connection else { return MHD_CONTENT_READER_END_WITH_ERROR }
                state.suspended = true
                MHD_suspend_connection(connection.pointer)
                return 0
            }
        }
    }

    /// libmicrohttpd let go of the response: the client went, or the stream was sent to its end.
    private func release() {
        let (endedNow, untrack) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            state.released = true
            state.suspended = false
            defer { state.untrack = nil }
            guard state.end == nil else { return (false, state.untrack) }
            state.end = .clientGone
            return (true, state.untrack)
        }
        untrack?()
        if endedNow { ended(.clientGone) }
    }

    private static let read: MHD_ContentReaderCallback = { cls, _, buffer, capacity in
        guard let cls, let buffer else { return MHD_CONTENT_READER_END_WITH_ERROR }
        return Unmanaged<ResponseStream>.fromOpaque(cls).takeUnretainedValue().next(into: buffer, capacity: capacity)
    }

    private static let free: MHD_ContentReaderFreeCallback = { cls in
        guard let cls else { return }
        let stream = Unmanaged<ResponseStream>.fromOpaque(cls)
        stream.takeUnretainedValue().release()
        stream.release()
    }
}
