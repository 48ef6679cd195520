import PerfMonitor
import Synchronization

/// A store clock that moves only when a test says so: windows, pruning and timeouts are tested
/// without sleeping.
public final class ManualClock: StoreClock {
    private let seconds: Mutex<Double>

    public init(_ start: Double = 1_800_000_000) {
        seconds = Mutex(start)
    }

    public func now() -> Double { seconds.withLock { $0 } }

    public func advance(by delta: Double) {
        seconds.withLock { $0 += delta }
    }
}
