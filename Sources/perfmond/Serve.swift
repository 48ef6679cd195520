import AlertSinks
import ArgumentParser
import Foundation
import Logging
import MicroHTTPD
import PerfMonitorHTTP
import PerfmondConfig
import PerfMonitor
import ServiceLifecycle
import StatsDServer
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
        MallocPolicy.apply(environment: environment)
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
        let catalog = MetricCatalog(maxNames: settings.store.limits.customMetrics, familyPrefix: settings.metrics.customPrefix,
                                    builtinPrefix: settings.metrics.prefix)
        let store = MetricsStore(configuration: settings.store, clock: clock, buffer: buffer, catalog: catalog)
        let decoder = EventDecoder(maxAgeSeconds: settings.store.retention.seconds, catalog: catalog)
        let access = AccessPolicy(settings.access)
        let snapshots = SnapshotStatus()
        var routes = Routes()
        HealthRoutes.register(in: &routes, readiness: readiness)
        GrafanaDashboards.register(in: &routes)
        let counters = IngestCounters()
        let rules = AlertRules(settings.alertThresholds)
        let monitor = SystemMonitor(retention: settings.store.retention, interval: settings.store.collectionInterval)
        monitor.sample(at: clock.now())  // one sample before listening: the first answer is never empty
        let alertEngine = AlertEngine(rules: rules, store: store, monitor: monitor, clock: clock, degradation: settings.degradation)
        let dispatcher = AlertDispatcher(sinks: settings.alertSinks.sinks, retries: settings.alertSinks.retries, logger: logger)
        IngestRoute(buffer: buffer, decoder: decoder, clock: clock, readiness: readiness, counters: counters)
            .register(in: &routes)
        let queueWaits = QueueWaits()
        let statsdCounters = StatsDCounters()
        LiteLLMRoute(buffer: buffer, decoder: decoder, mapping: LiteLLMMapping(modelField: settings.litellm.modelField), clock: clock,
                     readiness: readiness, counters: counters, maxBodyBytes: settings.litellm.maxBodyBytes,
                     queueWait: settings.litellm.queueWait, waits: queueWaits)
            .register(in: &routes)
        let otlpCounters = OTLPCounters()
        let followers = EventFollowers()
        let otlpStreams = CumulativeStreams(maxStreams: settings.otlp.options.maxStreams, startedAt: startedAt)
        let genAIServices = GenAISpanServices()
        let retention = settings.store.retention.seconds
        OTLPRoute(buffer: buffer, clock: clock, readiness: readiness, counters: counters, outcomes: otlpCounters,
                  metrics: OTLPMetricsMapping(options: settings.otlp.options, streams: otlpStreams, services: genAIServices, catalog: catalog,
                                              maxAgeSeconds: retention),
                  spans: OTLPSpanMapping(options: settings.otlp.options, services: genAIServices, maxAgeSeconds: retention),
                  maxBodyBytes: settings.otlp.maxBodyBytes)
            .register(in: &routes)
        // The queries report the server's own refusals; the server needs the routes first.
        let serverBox = SharedValue<HTTPServer?>(nil)  // routes built before the server read its counters
        let serverRefusals: @Sendable () -> ServerRefusals = { serverBox.value?.refusals ?? ServerRefusals() }
        let remoteWriteQueue = settings.remoteWrite.isEnabled ? RemoteWriteQueue(capacity: settings.remoteWrite.queueSamples) : nil
        let metricsRoute = MetricsRoute(store: store, configuration: settings.metrics, counters: counters, buffer: buffer,
                                        serverRefusals: serverRefusals, monitor: monitor, alertEngine: alertEngine, dispatcher: dispatcher,
                                        access: access, live: live, snapshots: snapshots, startedAt: startedAt, queueWaits: queueWaits,
                                        statsd: statsdCounters, otlp: OTLPFigures(counters: otlpCounters, streams: otlpStreams),
                                        followers: followers, remoteWrite: remoteWriteQueue)
        metricsRoute.register(in: &routes)
        let remoteWriter = remoteWriteQueue.map {
            RemoteWriter(configuration: settings.remoteWrite, instanceName: settings.instanceName, route: metricsRoute, queue: $0, logger: logger)
        }
        PerformanceQueries(store: store, live: live, rules: rules, monitor: monitor, alertEngine: alertEngine,
                           counters: counters, buffer: buffer, serverRefusals: serverRefusals, snapshots: snapshots,
                           clock: clock, startedAt: startedAt, statsd: statsdCounters,
                           otlp: OTLPFigures(counters: otlpCounters, streams: otlpStreams), followers: followers,
                           remoteWrite: remoteWriteQueue)
            .register(in: &routes)
        let server = HTTPServer(configuration: settings.serverConfiguration, router: access.router(for: routes), logger: logger)
        serverBox.value = server
        do {
            try server.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }

        // StatsD binds before the "listening" line, which names its ports; a failure stops start-up (status 2).
        var statsd: StatsDListener?
        var announcement: Logger.Metadata = ["host": "\(settings.host)", "port": "\(server.port)", "tls": "\(settings.tls.isEnabled)",
                                             "config": "\(loaded.filePath ?? "defaults")"]
        if let address = settings.statsd.address {
            do {
                let reader = StatsDReader(mapping: settings.statsd.mappings, catalog: catalog, maxAgeSeconds: settings.store.retention.seconds)
                let listener = try StatsDListener(host: address.host, port: address.port, receiveBuffer: settings.statsd.readBufferBytes,
                                                  maxConnections: settings.statsd.maxTCPConnections, reader: reader, buffer: buffer,
                                                  counters: statsdCounters, clock: clock)
                listener.start()
                statsd = listener
                let host = address.host.contains(":") ? "[\(address.host)]" : address.host  // IPv6 as [::1]:8125
                announcement["statsd_udp"] = "\(host):\(listener.ports.udp)"
                announcement["statsd_tcp"] = "\(host):\(listener.ports.tcp)"
                let asked = settings.statsd.readBufferBytes
                if listener.receiveBufferBytes < asked {
                    logger.warning("the StatsD receive buffer is smaller than statsd_read_buffer asks: raise net.core.rmem_max, or run with CAP_NET_ADMIN",
                                   metadata: ["asked_bytes": "\(asked)", "granted_bytes": "\(listener.receiveBufferBytes / 2)"])
                }
            } catch {
                logger.critical("cannot listen for StatsD on statsd_listen \(settings.statsd.listen): \(error)")
                await server.shutdown(gracePeriod: .zero)
                throw ExitCode(2)
            }
        }

        let http = HTTPService(server: server, readiness: readiness, notifier: notifier, gracePeriod: settings.shutdownGracePeriod.duration,
                               logger: logger,
                               announcement: announcement)
        let storeService = StoreService(store: store, buffer: buffer, monitor: monitor, alertEngine: alertEngine, dispatcher: dispatcher,
                                        clock: clock, interval: settings.store.collectionInterval.duration)
        let keeper = settings.stateFile.isEmpty ? nil : SnapshotKeeper(
            file: SnapshotFile(path: settings.stateFile), store: store, counters: counters, otlpStreams: otlpStreams, status: snapshots, logger: logger)
        let stateService = StateService(keeper: keeper, interval: settings.snapshotInterval.duration, readiness: readiness,
                                        notifier: notifier, logger: logger)
        let reloader = Reloader(configFlag: config, environment: environment, flags: flags, live: live, rules: rules,
                                access: access, statsd: statsd, logLevel: processLogLevel, notifier: notifier, logger: logger)
        // Shutdown runs in reverse order: StatsD stops reading first, then HTTP, then remote write, then the store drains what was
        // accepted, then the snapshot is written, then the alert sinks deliver what is queued.
        // Remote write stops before the store (its pushes read it).
        let services: [any Service] = [AlertDeliveryService(dispatcher: dispatcher), stateService, storeService]
            + (remoteWriter.map { [RemoteWriteService(writer: $0)] } ?? [])
            + [ReloadService(reloader: reloader), http] + (statsd.map { [StatsDService(listener: $0)] } ?? [])
        let group = ServiceGroup(services: services,
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        // How long the stop took, from the signal to the end (the contract: 2 s when idle).
        let stopMilliseconds = http.stopStarted.value.map { (ContinuousClock.now - $0).milliseconds } ?? 0
        logger.info("stopped", metadata: ["milliseconds": "\(stopMilliseconds)"])
        // A stop that lost data says so in its exit status, so that systemd shows the unit failed.
        if stateService.lastWriteFailed.value {
            logger.critical("the last snapshot could not be written: what was counted since the one before is lost",
                            metadata: ["state_file": "\(settings.stateFile)"])
            throw ExitCode.failure
        }
    }
}
