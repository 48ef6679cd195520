import PerfMonitorHTTP
import ServiceLifecycle

/// Runs remote write inside the service group: its sender thread from start-up, a push every
/// `remote_write_interval` (the first one interval after start), and on a graceful stop the
/// thread ends and what is still queued is counted as dropped (`shutdown`).
struct RemoteWriteService: Service {
    let writer: RemoteWriter

    func run() async throws {
        writer.start()
        let interval = writer.configuration.interval.duration
        // Cancellation ends the loop too: a cancelled sleep returns at once and would spin.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            await writer.push()
        }
        await writer.stop()
    }
}
