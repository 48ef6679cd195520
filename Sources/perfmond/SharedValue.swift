import Synchronization

/// One value shared between the services and the end of `serve` (when a stop began, whether the
/// last snapshot failed, the server the routes read their counters from), read and set under a lock.
final class SharedValue<Value: Sendable>: Sendable {
    private let stored: Mutex<Value>

    init(_ value: Value) {
        stored = Mutex(value)
    }

    var value: Value {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
