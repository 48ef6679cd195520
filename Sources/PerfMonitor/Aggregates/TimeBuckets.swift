/// How a series' history is cut into buckets: fine ones for the recent past, coarser further back.
/// Tiers cover disjoint, consecutive spans of time, so a window is the merge of the buckets it
/// overlaps and nothing is counted twice.
public struct WindowLayout: Sendable, Equatable {
    public struct Tier: Sendable, Equatable {
        /// Bucket width in seconds.
        public let width: Int64
        /// How far back from now this tier's buckets reach, in seconds.
        public let span: Int64
    }

    public let tiers: [Tier]
    public let retentionSeconds: Int64

    /// `collectionInterval`-wide buckets for 5 minutes, 1-minute buckets up to 1 hour, 10-minute
    /// buckets up to the retention (tiers beyond the retention are dropped).
    public init(collectionIntervalSeconds: Int64, retentionSeconds: Int64) {
        let wanted: [Tier] = [
            Tier(width: collectionIntervalSeconds, span: 300),
            Tier(width: max(60, collectionIntervalSeconds), span: 3600),
            Tier(width: max(600, collectionIntervalSeconds), span: .max),
        ]
        var tiers: [Tier] = []
        for tier in wanted {
            let span = min(tier.span, retentionSeconds)
            let width = min(tier.width, span)
            tiers.append(Tier(width: width, span: span))
            if span == retentionSeconds { break }
        }
        self.tiers = tiers
        self.retentionSeconds = retentionSeconds
    }

    /// A layout read back from a snapshot.
    init(tiers: [Tier], retentionSeconds: Int64) {
        self.tiers = tiers
        self.retentionSeconds = retentionSeconds
    }

    /// The bucket width answering a window of this length at its old edge (its precision).
    public func precision(forWindowSeconds window: Int64) -> Int64 {
        tiers.first { $0.span >= window }?.width ?? tiers.last?.width ?? 1
    }

    /// Upper bound of buckets one series can hold: what its memory is bounded by.
    public var maximumBuckets: Int {
        var previousSpan: Int64 = 0
        return tiers.reduce(0) { total, tier in
            defer { previousSpan = tier.span }
            return total + Int((tier.span - previousSpan) / tier.width) + 2
        }
    }
}

/// One series' aggregates in time buckets laid out by a `WindowLayout`. Buckets exist only where
/// events fell, so a quiet series costs a bucket or two, not hundreds.
public struct TimeBuckets: Sendable {
    struct Bucket: Sendable {
        var start: Int64
        var aggregate: Aggregate
    }

    /// Per tier, buckets in ascending start order.
    var tiers: [[Bucket]]

    public init(layout: WindowLayout) {
        tiers = Array(repeating: [], count: layout.tiers.count)
    }

    var bucketCount: Int { tiers.reduce(0) { $0 + $1.count } }
    var isEmpty: Bool { tiers.allSatisfy(\.isEmpty) }

    /// Applies `update` to the bucket holding `timestamp`, placed by its age at `now`.
    mutating func update(at timestamp: Double, now: Double, layout: WindowLayout, _ update: (inout Aggregate) -> Void) {
        let age = Int64((now - timestamp).rounded(.down))
        guard let tierIndex = layout.tiers.firstIndex(where: { age < $0.span }) else { return }
        let width = layout.tiers[tierIndex].width
        let start = Int64(timestamp.rounded(.down)).aligned(to: width)
        Self.update(&tiers[tierIndex], start: start, update)
    }

    private static func update(_ buckets: inout [Bucket], start: Int64, _ update: (inout Aggregate) -> Void) {
        var position = buckets.count
        while position > 0, buckets[position - 1].start > start { position -= 1 }
        if position > 0, buckets[position - 1].start == start {
            update(&buckets[position - 1].aggregate)
        } else {
            var aggregate = Aggregate()
            update(&aggregate)
            buckets.insert(Bucket(start: start, aggregate: aggregate), at: position)
        }
    }

    /// Moves buckets that have aged out of their tier into the next, coarser one, and drops
    /// those older than the retention. Run on the maintenance timer, never on a query.
    mutating func roll(now: Double, layout: WindowLayout) {
        let nowSeconds = Int64(now.rounded(.down))
        for (index, tier) in layout.tiers.enumerated() {
            let cutoff = nowSeconds - tier.span
            var aged = 0
            while aged < tiers[index].count, tiers[index][aged].start + tier.width <= cutoff { aged += 1 }
            guard aged > 0 else { continue }
            let moving = tiers[index][..<aged]
            if index + 1 < layout.tiers.count {
                let width = layout.tiers[index + 1].width
                for bucket in moving {
                    Self.update(&tiers[index + 1], start: bucket.start.aligned(to: width)) { $0.merge(bucket.aggregate) }
                }
            }
            tiers[index].removeFirst(aged)
        }
    }

    /// The merge of every bucket overlapping the time range (`from`, `to`]: the last W seconds
    /// are (now − W, now]. Precise to the width of the buckets at the range's edges.
    func aggregate(from: Double, to: Double, layout: WindowLayout) -> Aggregate {
        var result = Aggregate()
        for (index, buckets) in tiers.enumerated() {
            let width = Double(layout.tiers[index].width)
            for bucket in buckets where Double(bucket.start) + width > from && Double(bucket.start) <= to {
                result.merge(bucket.aggregate)
            }
        }
        return result
    }

    var heapBytes: Int {
        tiers.reduce(0) { total, buckets in
            total + buckets.capacity * MemoryLayout<Bucket>.stride + buckets.reduce(0) { $0 + $1.aggregate.heapBytes }
        }
    }
}

extension Int64 {
    /// Rounded down to a multiple of `width` (negative times included).
    func aligned(to width: Int64) -> Int64 {
        let remainder = self % width
        return remainder >= 0 ? self - remainder : self - remainder - width
    }
}
