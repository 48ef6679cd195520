import ServiceLifecycle
import StatsDServer

/// Runs the StatsD listeners inside the service group: they read from start-up (bound before the
/// "listening" line) and, on a graceful stop, hand over what was received, then close. It is the
/// first service to stop, so the store drains those lines before the snapshot is written.
struct StatsDService: Service {
    let listener: StatsDListener

    func run() async throws {
        try? await gracefulShutdown()
        await listener.stop()
    }
}
