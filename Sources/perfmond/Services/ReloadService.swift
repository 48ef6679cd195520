import ServiceLifecycle
import UnixSignals

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
