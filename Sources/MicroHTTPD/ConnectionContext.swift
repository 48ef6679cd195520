import CMicroHTTPD
import Logging
import Synchronization

/// What libmicrohttpd's callbacks share: the router, the limits, and the bookkeeping a graceful
/// stop needs (requests in flight, connections suspended for async handlers).
final class ConnectionContext: Sendable {
    let router: Router
    let maxBodyBytes: Int
    let logger: Logger
    let inFlight = Atomic<Int>(0)
    /// Requests refused with `413` because their body was over the limit, by path.
    private let tooLarge = Mutex<[String: Int]>([:])
    /// Set when a stop begins: answers from then on close their connection.
    private let closing = Atomic<Bool>(false)
    private let pending = Mutex<[ObjectIdentifier: PendingResponse]>([:])
    /// Responses written while they are sent (`ResponseStream`), open now.
    private let streams = Mutex<[ObjectIdentifier: ResponseStream]>([:])
    private let lastLibraryMessage = Mutex<String?>(nil)

    /// Closes the connections that wait for a request and never finish one.
    let connectionGuard: ConnectionGuard

    init(router: Router, configuration: ServerConfiguration, logger: Logger) {
        self.router = router
        self.maxBodyBytes = configuration.maxBodyBytes
        self.logger = logger
        connectionGuard = ConnectionGuard(headerDeadline: .seconds(configuration.connectionTimeoutSeconds),
                                          connectionLimit: configuration.connectionLimit)
    }

    /// Requests refused for their framing (RFC 9112), by problem.
    private let framing = Mutex<[RequestFraming.Problem: Int]>([:])

    func countFramingRefusal(_ problem: RequestFraming.Problem) {
        framing.withLock { $0[problem, default: 0] += 1 }
    }

    /// By `RequestFraming.Problem` raw value.
    var framingRefusals: [String: Int] {
        Dictionary(uniqueKeysWithValues: framing.withLock { $0 }.map { ($0.key.rawValue, $0.value) })
    }

    func countTooLarge(_ path: String) {
        tooLarge.withLock { $0[path, default: 0] += 1 }
    }

    var bodiesTooLarge: [String: Int] { tooLarge.withLock { $0 } }

    var isClosing: Bool { closing.load(ordering: .relaxed) }

    func beginClosing() { closing.store(true, ordering: .relaxed) }

    var pendingCount: Int { pending.withLock { $0.count } }

    func track(_ response: PendingResponse) {
        pending.withLock { $0[ObjectIdentifier(response)] = response }
    }

    func untrack(_ response: PendingResponse) {
        _ = pending.withLock { $0.removeValue(forKey: ObjectIdentifier(response)) }
    }

    /// Answers every request still waiting on an async handler with `503`, resuming its connection.
    func abandonPendingResponses() {
        for response in pending.withLock({ Array($0.values) }) {
            response.complete(with: .error(503, "server is shutting down"), context: self)
        }
    }

    func track(_ stream: ResponseStream) {
        streams.withLock { $0[ObjectIdentifier(stream)] = stream }
    }

    func untrack(_ stream: ResponseStream) {
        _ = streams.withLock { $0.removeValue(forKey: ObjectIdentifier(stream)) }
    }

    var openStreams: Int { streams.withLock { $0.count } }

    /// Ends every open stream (a stop): each sends what it has queued and its connection closes.
    func finishStreams() {
        for stream in streams.withLock({ Array($0.values) }) { stream.finish(.shutdown) }
    }

    func libraryLogged(_ message: String) {
        let line = message.trimmingTrailingNewlines
        // libmicrohttpd 0.9.7x says this even when the logger is the first option (systemd and
        // collectd print it too); it is noise, not news.
        if line.contains("EXTERNAL_LOGGER is not the first option") {
            logger.debug("libmicrohttpd: \(line)")
            return
        }
        if let status = LibraryRefusal.status(inLogLine: line) { libraryRefusals.withLock { $0[status, default: 0] += 1 } }
        if LibraryRefusal.isAboutAClientRequest(line) {
            logger.debug("libmicrohttpd: \(line)")
            return
        }
        lastLibraryMessage.withLock { $0 = line }
        logger.warning("libmicrohttpd: \(line)")
    }

    /// libmicrohttpd's own refusals (`LibraryRefusal`), by the status it answered.
    private let libraryRefusals = Mutex<[Int: Int]>([:])

    var refusedByLibrary: [Int: Int] { libraryRefusals.withLock { $0 } }

    func takeLastLibraryMessage() -> String? {
        lastLibraryMessage.withLock { message in
            defer { message = nil }
            return message
        }
    }
}

/// A connection pointer that may cross threads: libmicrohttpd allows resuming a suspended
/// connection from any thread when started with `MHD_ALLOW_SUSPEND_RESUME`.
struct ConnectionHandle: @unchecked Sendable {  // a C pointer; the MHD docs make resume thread-safe
    let pointer: OpaquePointer
}

/// The answer of an async handler for a suspended connection; the first completion wins
/// (the handler's, or the `503` of a shutdown), later ones are ignored.
final class PendingResponse: Sendable {
    private let state = Mutex<Response?>(nil)
    private let connection: ConnectionHandle

    init(connection: ConnectionHandle) {
        self.connection = connection
    }

    var response: Response? { state.withLock { $0 } }

    func complete(with response: Response, context: ConnectionContext) {
        let won = state.withLock { current -> Bool in
            guard current == nil else { return false }
            current = response
            return true
        }
        guard won else { return }
        context.untrack(self)
        MHD_resume_connection(connection.pointer)
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var result = self
        while result.last == "\n" || result.last == "\r" { result.removeLast() }
        return result
    }
}
