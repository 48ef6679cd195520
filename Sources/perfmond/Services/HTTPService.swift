import Logging
import MicroHTTPD
import PerfMonitorHTTP
import ServiceLifecycle

/// Runs the HTTP server inside the service group and stops it gracefully when asked.
struct HTTPService: Service {
    let server: HTTPServer
    /// When the stop began (set once the signal arrives).
    let stopStarted = SharedValue<ContinuousClock.Instant?>(nil)
    let readiness: Readiness
    let notifier: SystemdNotifier
    let gracePeriod: Duration
    let logger: Logger
    /// What the "listening" line says (scripts and tests read the port from it).
    let announcement: Logger.Metadata

    func run() async throws {
        // Announced from here, not before the group runs: by now the group handles SIGTERM, so
        // whoever acts on this line can stop the daemon gracefully.
        logger.info("listening", metadata: announcement)
        try? await gracefulShutdown()
        stopStarted.value = ContinuousClock.now
        readiness.enter(.stopping)
        notifier.stopping()
        logger.info("stopping", metadata: ["requests_in_flight": "\(server.requestsInFlight)"])
        await server.shutdown(gracePeriod: gracePeriod)
    }
}
