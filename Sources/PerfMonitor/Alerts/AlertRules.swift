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

    /// Applies `change` to the thresholds in force as one step (two requests editing at once do
    /// not lose either's change); nothing changes when it returns problems.
    public func edit<Outcome>(_ change: (inout [AlertThreshold]) -> Result<Outcome, ThresholdEditRefused>) -> Result<Outcome, ThresholdEditRefused> {
        thresholds.withLock { current in
            var next = current
            let outcome = change(&next)
            if case .success = outcome { current = next }
            return outcome
        }
    }
}

/// Why an edit of one threshold changed nothing: the problems, each naming its place, or no
/// threshold with that id.
public enum ThresholdEditRefused: Error, Sendable {
    case problems([String])
    case unknown(id: String)
}
