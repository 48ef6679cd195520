import Logging
import PerfMonitorHTTP
import ServiceLifecycle

/// Restores the snapshot, then declares the daemon ready (to `/ready` and to systemd); writes the
/// snapshot every `snapshot_interval` and a last time at shutdown, after the store has drained.
/// Whether that last write failed is kept for the exit status.
struct StateService: Service {
    let lastWriteFailed = SharedValue(false)
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
            lastWriteFailed.value = !(await keeper.write())
        }
    }
}
