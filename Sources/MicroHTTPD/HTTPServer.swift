import CMicroHTTPD
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on libmicrohttpd: keep-alive, a thread pool, body limits, routing,
/// and a graceful stop. Knows nothing about what it serves.
public final class HTTPServer: Sendable {
    private enum State {
        case idle
        case running(daemon: OpaquePointer, settings: UnsafeMutablePointer<cmhd_settings>)
        case stopped
    }

    public let configuration: ServerConfiguration
    let connections: ConnectionContext
    private let state = Mutex<State>(.idle)
    private let boundPort = Atomic<Int>(0)

    public init(configuration: ServerConfiguration, router: Router, logger: Logger) {
        self.configuration = configuration
        self.connections = ConnectionContext(router: router, configuration: configuration, logger: logger)
    }

    /// A running server must be stopped before it goes: libmicrohttpd's threads still call into
    /// its connection context. Releasing one that runs is a programming error.
    deinit {
        state.withLock { state in
            if case .running = state { preconditionFailure("HTTPServer released while running: await shutdown() first") }
        }
    }

    /// The port being listened on: the one the kernel picked when 0 was asked for.
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// Requests received whose answer has not been sent completely yet.
    public var requestsInFlight: Int { connections.inFlight.load(ordering: .relaxed) }

    /// What the server refused itself, before any route: `413`s and framing problems.
    public var refusals: ServerRefusals {
        let closed = connections.connectionGuard.totals
        return ServerRefusals(tooLargeByPath: connections.bodiesTooLarge, framing: connections.framingRefusals,
                              closedWaiting: Dictionary(uniqueKeysWithValues: closed.map { ($0.key.rawValue, $0.value) }),
                              byLibrary: connections.refusedByLibrary)
    }

    /// Binds and starts serving; throws with the reason when it cannot.
    public func start() throws {
        let address = try SocketAddress.resolve(host: configuration.host, port: configuration.port)
        try state.withLock { state in
            guard case .idle = state else { throw ServerError("server already started") }
            let settings = makeSettings(address: address)
            guard let daemon = cmhd_start_daemon(settings) else {
                var reason = connections.takeLastLibraryMessage() ?? "libmicrohttpd refused to start"
                // libmicrohttpd names the port it was given apart from the address: 0 ("Failed to bind to port 0: …").
                if reason.hasPrefix("Failed to bind to port"), let colon = reason.firstIndex(of: ":") {
                    reason = String(reason[reason.index(after: colon)...].drop(while: { $0 == " " }))
                }
                Self.release(settings)
                throw ServerError("cannot listen on \(configuration.host):\(configuration.port): \(reason)")
            }
            boundPort.store(Int(cmhd_bound_port(daemon)), ordering: .releasing)
            state = .running(daemon: daemon, settings: settings)
            connections.connectionGuard.start()
        }
    }

    /// Stops accepting, lets requests in flight finish for up to `gracePeriod`, answers the ones
    /// still waiting on an async handler with `503`, then closes every connection.
    ///
    /// Requests that start during the grace period are answered `503` with `Retry-After: 5` and
    /// `Connection: close` at once (closing new connections unanswered left clients with a reset,
    /// issue 24 item 13). Not `MHD_quiesce_daemon`: with epoll and internal threads, quiescing
    /// races a worker thread that removes the listening socket from its epoll set too, and
    /// libmicrohttpd aborts the process when it loses (an open libmicrohttpd defect, seen here).
    public func shutdown(gracePeriod: Duration = .seconds(2)) async {
        let running: (OpaquePointer, UnsafeMutablePointer<cmhd_settings>)? = state.withLock { state in
            guard case let .running(daemon, settings) = state else { return nil }
            state = .stopped
            return (daemon, settings)
        }
        guard let (daemon, settings) = running else { return }
        connections.beginClosing()
        connections.finishStreams()  // a follower's stream would hold its request in flight through the grace period
        connections.connectionGuard.stop()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: gracePeriod)
        while requestsInFlight > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        // Suspended connections must be resumed before libmicrohttpd can stop.
        connections.abandonPendingResponses()
        let resumeDeadline = clock.now.advanced(by: .milliseconds(500))
        while connections.pendingCount > 0 || connections.openStreams > 0 || requestsInFlight > 0, clock.now < resumeDeadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        MHD_stop_daemon(daemon)
        Self.release(settings)
    }

    private func makeSettings(address: SocketAddress) -> UnsafeMutablePointer<cmhd_settings> {
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if address.isIPv6 {
            flags |= address.isIPv6Wildcard ? MHD_USE_DUAL_STACK.rawValue : MHD_USE_IPv6.rawValue
        }
        let tls = configuration.tlsKeyPEM.flatMap { key in configuration.tlsCertificatePEM.map { (key, $0) } }
        if tls != nil { flags |= MHD_USE_TLS.rawValue }

        let sockaddrCopy = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        sockaddrCopy.initialize(to: address.storage)
        let logTarget = UnsafeMutablePointer<cmhd_log_target>.allocate(capacity: 1)
        let context = Unmanaged.passUnretained(connections).toOpaque()
        logTarget.initialize(to: cmhd_log_target(sink: libraryLogSink, cls: context))

        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        let settings = UnsafeMutablePointer<cmhd_settings>.allocate(capacity: 1)
        settings.initialize(to: cmhd_settings(
            flags: flags,
            bind_address: UnsafeRawPointer(sockaddrCopy).assumingMemoryBound(to: sockaddr.self),
            thread_pool_size: UInt32(threads),
            connection_limit: UInt32(configuration.connectionLimit),
            connection_timeout_seconds: UInt32(configuration.connectionTimeoutSeconds),
            connection_memory_limit: configuration.connectionMemoryBytes,
            access_handler: accessHandler,
            request_completed: requestCompleted,
            notify_connection: connectionNotified,
            uri_log: requestTargetSeen,
            cls: context,
            log_target: logTarget,
            tls_key_pem: tls.map { strdup($0.0) } ?? nil,
            tls_cert_pem: tls.map { strdup($0.1) } ?? nil
        ))
        return settings
    }

    private static func release(_ settings: UnsafeMutablePointer<cmhd_settings>) {
        let s = settings.pointee
        UnsafeMutableRawPointer(mutating: s.bind_address).deallocate()
        s.log_target.deallocate()
        free(UnsafeMutableRawPointer(mutating: s.tls_key_pem))
        free(UnsafeMutableRawPointer(mutating: s.tls_cert_pem))
        settings.deinitialize(count: 1)
        settings.deallocate()
    }
}

/// Facts about the machine the server sizes itself by.
public enum System {
    /// Cores online; the thread pool has one thread per core unless configured otherwise.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

private let libraryLogSink: cmhd_log_sink = { cls, message in
    guard let cls, let message else { return }
    let context = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue()
    context.libraryLogged(String(cString: message))
}
