/// Events counted per second for the last minute, in a ring of 60 one-second slots.
struct ArrivalRate: Sendable {
    private var seconds = [Int64](repeating: -1, count: 60)
    private var counts = [Int](repeating: 0, count: 60)

    mutating func record(_ count: Int, at time: Double) {
        let second = Int64(time.rounded(.down))
        let slot = Int(second % 60)
        if seconds[slot] != second {
            seconds[slot] = second
            counts[slot] = 0
        }
        counts[slot] += count
    }

    /// Events per second over the 60 s up to `now`.
    func perSecond(now: Double) -> Double {
        let current = Int64(now.rounded(.down))
        var total = 0
        for slot in 0..<60 where seconds[slot] > current - 60 && seconds[slot] <= current { total += counts[slot] }
        return Double(total) / 60
    }
}
