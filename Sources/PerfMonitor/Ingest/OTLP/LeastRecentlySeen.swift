extension Dictionary {
    /// Removes the `count` entries seen longest ago (`seenAt` of each value): the bounded tables
    /// of the OTLP routes (streams, services) make room this way, a fraction at a time, so that
    /// the sort is paid once for many insertions. Returns how many were removed.
    @discardableResult
    mutating func removeLeastRecentlySeen(_ count: Int, seenAt: (Value) -> Double) -> Int {
        let oldest = sorted { seenAt($0.value) < seenAt($1.value) }.prefix(count).map(\.key)
        for key in oldest { self[key] = nil }
        return oldest.count
    }
}
