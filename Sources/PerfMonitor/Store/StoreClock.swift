/// Where the store reads the time; tests inject a clock they move by hand, so no test sleeps.
public protocol StoreClock: Sendable {
    /// Unix seconds.
    func now() -> Double
}

/// The real time of day.
public struct SystemClock: StoreClock {
    public init() {}
    public func now() -> Double { WallClock.now() }
}
