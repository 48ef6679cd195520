import Synchronization

/// The configuration the daemon runs with now: what it started with, changed by each successful
/// SIGHUP reload in the keys that can change while running. `GET /performance/config` shows it.
public final class LiveConfiguration: Sendable {
    /// Reloads tried since start, and whether the last one worked.
    public struct Reloads: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        public var lastSucceeded = true
        public var lastSuccessAt: Double?
    }

    /// What a reload changed.
    public struct Outcome: Sendable, Equatable {
        /// Keys applied now.
        public var applied: [String] = []
        /// Keys changed in the file that keep their running value until a restart.
        public var needRestart: [String] = []
    }

    private let state: Mutex<(configuration: DaemonConfiguration, filePath: String?, reloads: Reloads)>

    public init(_ configuration: DaemonConfiguration, filePath: String?, startedAt: Double) {
        state = Mutex((configuration, filePath, Reloads(lastSuccessAt: startedAt)))
    }

    public var current: DaemonConfiguration { state.withLock { $0.configuration } }
    public var filePath: String? { state.withLock { $0.filePath } }
    public var reloads: Reloads { state.withLock { $0.reloads } }

    /// Takes the reloadable keys of `loaded`; the rest keep their running values.
    public func apply(_ loaded: DaemonConfiguration, at time: Double) -> Outcome {
        state.withLock { state in
            let running = state.configuration
            var outcome = Outcome()
            for setting in Setting.all where setting.render(running) != setting.render(loaded) {
                if setting.isReloadable { outcome.applied.append(setting.key) } else { outcome.needRestart.append(setting.key) }
            }
            if running.alertThresholds != loaded.alertThresholds { outcome.applied.append("alert_thresholds") }
            if running.recommendationRules != loaded.recommendationRules { outcome.applied.append("recommendation_rules") }
            if running.statsd.mappings != loaded.statsd.mappings { outcome.applied.append("statsd_mappings") }
            if running.access != loaded.access, !outcome.applied.contains(where: { $0.hasSuffix("_token") || $0.hasSuffix("_token_file") }) {
                outcome.applied.append("tokens")
            }
            var next = running
            next.logLevel = loaded.logLevel
            next.alertThresholds = loaded.alertThresholds
            next.recommendationRules = loaded.recommendationRules
            next.statsd.mappings = loaded.statsd.mappings
            next.access = loaded.access
            state.configuration = next
            state.reloads.succeeded += 1
            state.reloads.lastSucceeded = true
            state.reloads.lastSuccessAt = time
            return outcome
        }
    }

    /// Counts a reload refused for a bad configuration (the running one stays).
    public func refuse() {
        state.withLock { state in
            state.reloads.failed += 1
            state.reloads.lastSucceeded = false
        }
    }
}
