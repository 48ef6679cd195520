import Logging
import PerfMonitorHTTP
import ServiceLifecycle
import Synchronization

/// Restores the snapshot, then declares the daemon ready (to `/ready` and to systemd); writes the
/// snapshot every `snapshot_interval` and a last time at shutdown, after the store has drained.
/// Whether that last write failed is kept for the exit status.
struct StateService: Service {
    let lastWriteFailed = Flag()
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

/// A Bool shared between a service and the end of `serve`.
final class Flag: Sendable {
    private let stored = Mutex(false)
    var value: Bool {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
