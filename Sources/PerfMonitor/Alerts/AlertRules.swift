import Synchronization

/// The thresholds in force. The config file sets them at start; `POST /performance/config`
/// replaces them until the next restart or reload. The alert engine reads them every evaluation.
public final class AlertRules: Sendable {
    private let thresholds: Mutex<[AlertThreshold]>

    public init(_ thresholds: [AlertThreshold]) {
        self.thresholds = Mutex(thresholds)
    }

    public var current: [AlertThreshold] { thresholds.withLock { $0 } }

    public func replace(with new: [AlertThreshold]) {
        thresholds.withLock { $0 = new }
    }
}
