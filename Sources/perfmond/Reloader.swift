import Logging
import PerfMonitor
import PerfMonitorHTTP
import PerfmondConfig
import StatsDServer

/// Re-reads the configuration as at start (same file, environment and flags) and applies what can
/// change while running: log level, alert thresholds, recommendation rules, StatsD mappings, tokens and metrics_auth. A configuration
/// that does not load is refused whole, logged with its reason, and the running one stays.
struct Reloader: Sendable {
    let configFlag: String?
    let environment: [String: String]
    let flags: [String: String]
    let live: LiveConfiguration
    let rules: AlertRules
    let access: AccessPolicy
    let statsd: StatsDListener?
    let logLevel: ProcessLogLevel
    let notifier: SystemdNotifier
    let logger: Logger

    func reload() {
        notifier.reloading()
        defer { notifier.ready(status: "serving") }
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigurationLoader.load(configFlag: configFlag, environment: environment, flags: flags)
        } catch {
            live.refuse()
            logger.error("configuration not reloaded; the running one stays", metadata: ["reason": "\(error)"])
            return
        }
        let next = loaded.configuration
        let outcome = live.apply(next, at: WallClock.now())
        rules.replace(with: next.alertThresholds)
        access.update(next.access)
        statsd?.replaceMapping(next.statsd.mappings)
        logLevel.level = Logger.Level(rawValue: next.logLevel.rawValue) ?? .info
        logger.info("configuration reloaded", metadata: [
            "applied": "\(outcome.applied.joined(separator: ","))",
            "config": "\(loaded.filePath ?? "defaults")",
        ])
        if !outcome.needRestart.isEmpty {
            logger.warning("changed keys that take effect only at restart", metadata: ["keys": "\(outcome.needRestart.joined(separator: ","))"])
        }
    }
}
