import AlertSinks
import PerfMonitor
import ServiceLifecycle

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
