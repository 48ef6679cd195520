import AlertSinks
import ArgumentParser
import Foundation
import Logging
import MicroHTTPD
import PerfMonitorHTTP
import PerfmondConfig
import PerfMonitor
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `perfmond serve`: loads the configuration, starts the HTTP server and runs until SIGTERM/SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon (the default command).",
        discussion: """
            Settings come from flags, then PERFMOND_<KEY> environment variables, then the config file,
            then built-in defaults. Example: perfmond serve --port 0 --config Config/perfmond.yaml
            """
    )

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "TCP port (default 9470; 0 picks a free port).")
    var port: String?

    @Option(help: "Configuration file (default $PERFMOND_CONFIG, else /etc/perfmond/perfmond.yaml when present).")
    var config: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    func run() async throws {
        var flags: [String: String] = [:]
        flags["host"] = host
        flags["port"] = port
        flags["log_level"] = logLevel
        let environment = ProcessInfo.processInfo.environment
        let loaded = try ConfigurationLoader.load(configFlag: config, environment: environment, flags: flags)
        let settings = loaded.configuration

        let processLogLevel = ProcessLogLevel(Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info)
        LoggingSystem.bootstrap { label in
            AdjustableLogHandler(inner: StreamLogHandler.standardError(label: label), shared: processLogLevel)
        }
        let logger = Logger(label: "perfmond")
        for warning in loaded.warnings { logger.warning("\(warning)") }

        let startedAt = WallClock.now()
        let live = LiveConfiguration(settings, filePath: loaded.filePath, startedAt: startedAt)
        let readiness = Readiness()
        let notifier = SystemdNotifier(environment: environment)
        let clock = SystemClock()
        let buffer = IngestBuffer(capacity: settings.ingestQueueCapacity)
        let store = MetricsStore(configuration: settings.store, clock: clock, buffer: buffer)
        let decoder = EventDecoder(maxAgeSeconds: settings.store.retention.seconds)
        let access = AccessPolicy(settings.access)
        let snapshots = SnapshotStatus()
        var router = Router()
        access.register(in: &router)
        HealthRoutes.register(in: &router, readiness: readiness)
        GrafanaDashboards.register(in: &router)
        let counters = IngestCounters()
        let rules = AlertRules(settings.alertThresholds)
        let monitor = SystemMonitor(retention: settings.store.retention, interval: settings.store.collectionInterval)
        monitor.sample(at: clock.now())  // one sample before listening: the first answer is never empty
        let alertEngine = AlertEngine(rules: rules, store: store, monitor: monitor, clock: clock)
        let dispatcher = AlertDispatcher(sinks: settings.alertSinks.sinks, retries: settings.alertSinks.retries, logger: logger)
        IngestRoute(buffer: buffer, decoder: decoder, clock: clock, readiness: readiness, counters: counters)
            .register(in: &router)
        // The queries report the server's own refusals; the server needs the routes first.
        let serverBox = ServerReference()
        let bodiesTooLarge: @Sendable () -> Int = { serverBox.server?.bodiesTooLarge ?? 0 }
        MetricsRoute(store: store, configuration: settings.metrics, counters: counters, buffer: buffer,
                     bodiesTooLarge: bodiesTooLarge, monitor: monitor, alertEngine: alertEngine, dispatcher: dispatcher,
                     access: access, live: live, snapshots: snapshots, startedAt: startedAt)
            .register(in: &router)
        PerformanceQueries(store: store, live: live, rules: rules, monitor: monitor, alertEngine: alertEngine,
                           counters: counters, buffer: buffer, bodiesTooLarge: bodiesTooLarge, snapshots: snapshots,
                           clock: clock, startedAt: startedAt)
            .register(in: &router)
        let server = HTTPServer(configuration: settings.serverConfiguration, router: router, logger: logger)
        serverBox.server = server
        do {
            try server.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }

        let http = HTTPService(server: server, readiness: readiness, notifier: notifier, gracePeriod: settings.shutdownGracePeriod.duration,
                               logger: logger,
                               announcement: ["host": "\(settings.host)", "port": "\(server.port)", "tls": "\(settings.tls.isEnabled)",
                                              "config": "\(loaded.filePath ?? "defaults")"])
        let storeService = StoreService(store: store, buffer: buffer, monitor: monitor, alertEngine: alertEngine, dispatcher: dispatcher,
                                        clock: clock, interval: settings.store.collectionInterval.duration)
        let keeper = settings.stateFile.isEmpty ? nil : SnapshotKeeper(
            file: SnapshotFile(path: settings.stateFile), store: store, counters: counters, status: snapshots, logger: logger)
        let stateService = StateService(keeper: keeper, interval: settings.snapshotInterval.duration, readiness: readiness,
                                        notifier: notifier, logger: logger)
        let reloader = Reloader(configFlag: config, environment: environment, flags: flags, live: live, rules: rules,
                                access: access, logLevel: processLogLevel, notifier: notifier, logger: logger)
        // Shutdown runs in reverse order: HTTP stops first, then the store drains what was
        // accepted, then the snapshot is written, then the alert sinks deliver what is queued.
        let group = ServiceGroup(services: [AlertDeliveryService(dispatcher: dispatcher), stateService, storeService,
                                            ReloadService(reloader: reloader), http],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        // How long the stop took, from the signal to the end (the contract: 2 s when idle).
        let stopMilliseconds = http.stopStarted.instant.map { (ContinuousClock.now - $0).milliseconds } ?? 0
        logger.info("stopped", metadata: ["milliseconds": "\(stopMilliseconds)"])
    }
}

/// Runs the HTTP server inside the service group and stops it gracefully when asked.
struct HTTPService: Service {
    let server: HTTPServer
    /// When the stop began (set once the signal arrives).
    let stopStarted = StopInstant()
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
        stopStarted.instant = ContinuousClock.now
        readiness.enter(.stopping)
        notifier.stopping()
        logger.info("stopping", metadata: ["requests_in_flight": "\(server.requestsInFlight)"])
        await server.shutdown(gracePeriod: gracePeriod)
    }
}

/// Feeds the store: applies buffered events when the buffer reaches its high-water mark, and every
/// collection interval runs maintenance (which drains too: window roll-up, retention pruning,
/// abandoned requests), samples the process and evaluates the alerts. Queries drain before
/// answering. On shutdown it closes the buffer and applies whatever was accepted.
struct StoreService: Service {
    let store: MetricsStore
    let buffer: IngestBuffer
    let monitor: SystemMonitor
    let alertEngine: AlertEngine
    let dispatcher: AlertDispatcher
    let clock: any StoreClock
    let interval: Duration

    func run() async throws {
        let store = self.store
        let buffer = self.buffer
        let drainer = Task {
            for await _ in buffer.highWater { await store.drain() }
        }
        // Cancellation ends the loop too: a cancelled sleep returns at once and would spin.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await store.maintain()
            monitor.sample(at: clock.now())
            let transitions = await alertEngine.evaluate()
            let firing = alertEngine.snapshot.firing
            if !transitions.isEmpty || !firing.isEmpty {
                dispatcher.submit(AlertBatch(transitions: transitions, firing: firing, time: clock.now()))
            }
        }
        buffer.close()
        await drainer.value
        await store.drain()
    }
}

/// Delivers alerts to the configured sinks until shutdown, then flushes what is queued.
struct AlertDeliveryService: Service {
    let dispatcher: AlertDispatcher

    func run() async throws {
        let dispatcher = self.dispatcher
        // A service that returns early stops the whole group: with no sink configured there is
        // nothing to run, but the service must still live until shutdown.
        guard !dispatcher.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await withGracefulShutdownHandler {
            await dispatcher.run()
        } onGracefulShutdown: {
            dispatcher.finish()
        }
    }
}

extension AlertSinkConfiguration {
    /// The sinks configured, in a fixed order.
    var sinks: [any AlertSink] {
        var sinks: [any AlertSink] = []
        if !file.isEmpty { sinks.append(FileSink(path: file, maxBytes: fileMaxBytes)) }
        if let url = URL(string: webhookURL), !webhookURL.isEmpty { sinks.append(WebhookSink(url: url, timeout: webhookTimeout.duration)) }
        if let url = URL(string: alertmanagerURL), !alertmanagerURL.isEmpty {
            sinks.append(AlertmanagerSink(baseURL: url, timeout: webhookTimeout.duration))
        }
        return sinks
    }
}

/// The moment a stop began, shared between the HTTP service and the end of `serve`.
final class StopInstant: Sendable {
    private let stored = Mutex<ContinuousClock.Instant?>(nil)
    var instant: ContinuousClock.Instant? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

/// Lets routes built before the server read its counters once it exists.
final class ServerReference: Sendable {
    private let stored = Mutex<HTTPServer?>(nil)
    var server: HTTPServer? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

extension DaemonConfiguration {
    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, threads: threads, maxBodyBytes: maxBodyBytes,
            connectionLimit: connectionLimit,
            connectionTimeoutSeconds: Int((connectionTimeout.milliseconds + 999) / 1000),
            tlsKeyPEM: tls.keyPEM, tlsCertificatePEM: tls.certificatePEM)
    }
}

extension TimeSpan {
    var duration: Duration { .milliseconds(milliseconds) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// Restores the snapshot, then declares the daemon ready (to `/ready` and to systemd); writes the
/// snapshot every `snapshot_interval` and a last time at shutdown, after the store has drained.
struct StateService: Service {
    let keeper: SnapshotKeeper?
    let interval: Duration
    let readiness: Readiness
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        await keeper?.restore()
        readiness.becomeReady()
        notifier.ready(status: "serving")
        guard let keeper else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await keeper.write()
        }
    }
}

/// Reloads the configuration file on each SIGHUP until shutdown.
struct ReloadService: Service {
    let reloader: Reloader

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals { reloader.reload() }
        }
    }
}
