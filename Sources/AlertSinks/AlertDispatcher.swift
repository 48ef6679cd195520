import Logging
import PerfMonitor
import Synchronization

/// What one evaluation hands to the sinks: the transitions, and everything firing now (Alertmanager
/// wants firing alerts re-sent, or it resolves them itself).
public struct AlertBatch: Sendable {
    public let transitions: [Alert]
    public let firing: [Alert]
    public let time: Double

    public init(transitions: [Alert], firing: [Alert], time: Double) {
        self.transitions = transitions
        self.firing = firing
        self.time = time
    }
}

/// Somewhere alerts go: a file, a webhook, Alertmanager.
public protocol AlertSink: Sendable {
    /// Names the sink in logs and in `perfmond_alert_notifications_total{sink=…}`.
    var name: String { get }
    /// Whether this batch is worth a delivery (most sinks: only when something changed).
    func wants(_ batch: AlertBatch) -> Bool
    /// Delivers or throws; the dispatcher retries.
    func deliver(_ batch: AlertBatch) async throws
}

/// Hands alert batches to every sink without ever blocking the caller: each sink has its own
/// bounded queue and task, so a slow webhook delays neither the file nor the evaluation, and
/// nothing here touches ingest. Failed deliveries are retried with exponential backoff; what
/// finally fails, and what a full queue drops, is counted and logged.
public final class AlertDispatcher: Sendable {
    public struct Counts: Sendable, Equatable {
        public var delivered = 0
        public var failed = 0
        public var dropped = 0

        public init(delivered: Int = 0, failed: Int = 0, dropped: Int = 0) {
            self.delivered = delivered
            self.failed = failed
            self.dropped = dropped
        }
    }

    private struct Lane: Sendable {
        let sink: any AlertSink
        let queue: AsyncStream<AlertBatch>
        let input: AsyncStream<AlertBatch>.Continuation
    }

    private let lanes: [Lane]
    private let counts: Mutex<[String: Counts]>
    private let retries: Int
    private let backoff: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - retries: further attempts after a failed delivery.
    ///   - backoff: the wait before the first retry, doubling each time.
    public init(sinks: [any AlertSink], queueCapacity: Int = 100, retries: Int = 3, backoff: Duration = .seconds(1), logger: Logger) {
        lanes = sinks.map { sink in
            let (queue, input) = AsyncStream.makeStream(of: AlertBatch.self, bufferingPolicy: .bufferingOldest(queueCapacity))
            return Lane(sink: sink, queue: queue, input: input)
        }
        counts = Mutex(Dictionary(uniqueKeysWithValues: sinks.map { ($0.name, Counts()) }))
        self.retries = retries
        self.backoff = backoff
        self.logger = logger
    }

    public var isEmpty: Bool { lanes.isEmpty }

    /// Delivered, failed and dropped batches per sink.
    public var current: [String: Counts] { counts.withLock { $0 } }

    /// Queues the batch for every sink that wants it; returns at once.
    public func submit(_ batch: AlertBatch) {
        for lane in lanes where lane.sink.wants(batch) {
            if case .dropped = lane.input.yield(batch) {
                count(lane.sink.name) { $0.dropped += 1 }
                logger.warning("alert sink \(lane.sink.name): queue full, a batch was dropped")
            }
        }
    }

    /// Delivers until `finish()` has been called and the queues are empty.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for lane in lanes {
                group.addTask { await self.drain(lane) }
            }
        }
    }

    /// Stops taking batches; `run()` returns once the queued ones are delivered or given up.
    public func finish() {
        for lane in lanes { lane.input.finish() }
    }

    private func drain(_ lane: Lane) async {
        for await batch in lane.queue {
            var wait = backoff
            for attempt in 0...retries {
                do {
                    try await lane.sink.deliver(batch)
                    count(lane.sink.name) { $0.delivered += 1 }
                    break
                } catch {
                    guard attempt < retries else {
                        count(lane.sink.name) { $0.failed += 1 }
                        logger.error("alert sink \(lane.sink.name): giving up after \(retries + 1) attempts: \(error)")
                        break
                    }
                    logger.warning("alert sink \(lane.sink.name): attempt \(attempt + 1) failed (\(error)); retrying in \(wait)")
                    try? await Task.sleep(for: wait)
                    wait *= 2
                }
            }
        }
    }

    private func count(_ name: String, _ change: (inout Counts) -> Void) {
        counts.withLock { change(&$0[name, default: Counts()]) }
    }
}

/// Why a delivery failed.
public struct AlertDeliveryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
