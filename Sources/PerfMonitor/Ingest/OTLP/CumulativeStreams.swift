import Synchronization

/// Turns OTLP's cumulative points into what happened since the last point of the same stream
/// (resource × scope × metric × attributes), the way Prometheus reads counters: a new start time
/// or a value that goes down is a reset, the same point sent twice adds nothing, and the first
/// point of a stream adds its whole value only when the stream started after perfmond did (else
/// it only sets the baseline: what it counted before perfmond ran is not counted now). Bounded:
/// past `maxStreams` the streams seen longest ago are forgotten (1/8 at a time), and counted.
/// Kept in the snapshot (section `otlp.streams`), so that a restart neither loses nor repeats the
/// interval between the last point before it and the first after.
public final class CumulativeStreams: Sendable {
    /// What a stream's last point said.
    enum State: Equatable {
        case number(Double)
        case histogram(count: UInt64, sum: Double, counts: [UInt64], bounds: [Double])
        case exponential(count: UInt64, sum: Double, scale: Int32, zeroCount: UInt64,
                         positive: OTLP.ExponentialPoint.Buckets, negative: OTLP.ExponentialPoint.Buckets)
    }

    struct Entry {
        var start: UInt64
        var time: UInt64
        var state: State
        /// When it was last seen (Unix seconds), for eviction.
        var seenAt: Double
    }

    /// What a cumulative point adds.
    enum Change<Point> {
        /// Add this (the difference, or the whole point after a reset).
        case add(Point)
        /// Nothing to add: the first point of a stream older than perfmond, the same point again, or an older one.
        case nothing
    }

    public let maxStreams: Int
    /// The daemon's start (Unix nanoseconds): a stream that started later is counted from its first point.
    public let startedAtNano: UInt64
    private let table = Mutex(Table())

    struct Table {
        var entries: [UInt64: Entry] = [:]
        var evicted = 0
        /// What each change replaced, so that a request refused whole (a full queue) leaves the
        /// streams as they were: its client sends the same points again.
        var journal: [(key: UInt64, replaced: Entry?)] = []

        mutating func undo() {
            for (key, replaced) in journal.reversed() { entries[key] = replaced }
            journal.removeAll()
        }
    }

    public init(maxStreams: Int, startedAt: Double) {
        self.maxStreams = maxStreams
        startedAtNano = UInt64(max(0, startedAt) * 1e9)
    }

    public var count: Int { table.withLock { $0.entries.count } }
    public var evicted: Int { table.withLock { $0.evicted } }

    /// Maps one request's points with the table locked, then hands the result to `commit`
    /// (still locked); when `commit` refuses it, the table is as it was before.
    func withTable<Result>(_ body: (inout Table) -> Result, commit: (Result) -> Bool) -> Result {
        table.withLock { table in
            table.journal.removeAll(keepingCapacity: true)
            let result = body(&table)
            if !commit(result) { table.undo() }
            table.journal.removeAll()
            return result
        }
    }
}

extension CumulativeStreams {
    /// The snapshot section's name.
    public static let snapshotSection = "otlp.streams"

    /// The table as the snapshot keeps it.
    public func encoded() -> [UInt8] {
        table.withLock { table in
            var writer = SnapshotWriter(capacity: 64 + table.entries.count * 64)
            writer.count(table.entries.count)
            for (key, entry) in table.entries {
                writer.i64(Int64(bitPattern: key))
                writer.i64(Int64(bitPattern: entry.start))
                writer.i64(Int64(bitPattern: entry.time))
                writer.f64(entry.seenAt)
                switch entry.state {
                case let .number(value):
                    writer.u8(0)
                    writer.f64(value)
                case let .histogram(count, sum, counts, bounds):
                    writer.u8(1)
                    writer.i64(Int64(bitPattern: count))
                    writer.f64(sum)
                    writer.count(counts.count)
                    for count in counts { writer.i64(Int64(bitPattern: count)) }
                    writer.count(bounds.count)
                    for bound in bounds { writer.f64(bound) }
                case let .exponential(count, sum, scale, zeroCount, positive, negative):
                    writer.u8(2)
                    writer.i64(Int64(bitPattern: count))
                    writer.f64(sum)
                    writer.i32(scale)
                    writer.i64(Int64(bitPattern: zeroCount))
                    for buckets in [positive, negative] {
                        writer.i32(buckets.offset)
                        writer.count(buckets.counts.count)
                        for count in buckets.counts { writer.i64(Int64(bitPattern: count)) }
                    }
                }
            }
            return writer.bytes
        }
    }

    /// Takes back the streams of a snapshot section (at most `maxStreams`, the latest seen).
    public func restore(_ bytes: [UInt8]) throws(SnapshotError) {
        var reader = SnapshotReader(bytes)
        var entries: [UInt64: Entry] = [:]
        func counts(_ reader: inout SnapshotReader) throws(SnapshotError) -> [UInt64] {
            var counts: [UInt64] = []
            for _ in 0..<(try reader.count(itemSize: 8)) { counts.append(UInt64(bitPattern: try reader.i64())) }
            return counts
        }
        for _ in 0..<(try reader.count(itemSize: 33)) {
            let key = UInt64(bitPattern: try reader.i64())
            let start = UInt64(bitPattern: try reader.i64()), time = UInt64(bitPattern: try reader.i64())
            let seenAt = try reader.f64()
            let state: State
            switch try reader.u8() {
            case 0: state = .number(try reader.f64())
            case 1:
                let count = UInt64(bitPattern: try reader.i64()), sum = try reader.f64()
                let bucketCounts = try counts(&reader)
                var bounds: [Double] = []
                for _ in 0..<(try reader.count(itemSize: 8)) { bounds.append(try reader.f64()) }
                state = .histogram(count: count, sum: sum, counts: bucketCounts, bounds: bounds)
            case 2:
                let count = UInt64(bitPattern: try reader.i64()), sum = try reader.f64(), scale = try reader.i32()
                let zeroCount = UInt64(bitPattern: try reader.i64())
                var sides: [OTLP.ExponentialPoint.Buckets] = []
                for _ in 0..<2 {
                    var buckets = OTLP.ExponentialPoint.Buckets()
                    buckets.offset = try reader.i32()
                    buckets.counts = try counts(&reader)
                    sides.append(buckets)
                }
                state = .exponential(count: count, sum: sum, scale: scale, zeroCount: zeroCount, positive: sides[0], negative: sides[1])
            case let tag: throw .damaged("an OTLP stream of kind \(tag)")
            }
            entries[key] = Entry(start: start, time: time, state: state, seenAt: seenAt)
        }
        guard reader.isAtEnd else { throw .damaged("bytes after the last OTLP stream") }
        if entries.count > maxStreams { entries.removeLeastRecentlySeen(entries.count - maxStreams, seenAt: \.seenAt) }
        table.withLock { $0.entries.merge(entries) { current, _ in current } }
    }
}

extension CumulativeStreams.Table {
    typealias Change = CumulativeStreams.Change

    /// A number point of a cumulative sum: what it adds to a counter.
    mutating func difference(_ key: UInt64, _ header: OTLP.PointHeader, value: Double, limits: CumulativeStreams, now: Double) -> Change<Double> {
        let previous = entries[key]
        remember(key, header, .number(value), limits: limits, now: now, unless: previous)
        guard let previous, case let .number(last) = previous.state else { return firstPoint(header, limits) ? .add(value) : .nothing }
        if header.timeUnixNano < previous.time, header.startTimeUnixNano == previous.start { return .nothing }  // an older point, late
        if header.startTimeUnixNano != previous.start || value < last { return .add(value) }  // a reset
        return value == last ? .nothing : .add(value - last)
    }

    mutating func difference(_ key: UInt64, _ point: OTLP.HistogramPoint, limits: CumulativeStreams, now: Double) -> Change<OTLP.HistogramPoint> {
        let previous = entries[key]
        remember(key, point.header, .histogram(count: point.count, sum: point.sum ?? 0, counts: point.bucketCounts, bounds: point.explicitBounds),
                 limits: limits, now: now, unless: previous)
        guard let previous, case let .histogram(count, sum, counts, bounds) = previous.state else {
            return firstPoint(point.header, limits) ? .add(point) : .nothing
        }
        if point.header.timeUnixNano < previous.time, point.header.startTimeUnixNano == previous.start { return .nothing }
        let reset = point.header.startTimeUnixNano != previous.start || point.count < count || bounds != point.explicitBounds
            || counts.count != point.bucketCounts.count || zip(point.bucketCounts, counts).contains { $0 < $1 }
        if reset { return .add(point) }
        if point.count == count { return .nothing }
        var delta = point
        delta.count = point.count - count
        delta.sum = point.sum.map { $0 - sum }
        delta.bucketCounts = zip(point.bucketCounts, counts).map { $0 - $1 }
        return .add(delta)
    }

    mutating func difference(_ key: UInt64, _ point: OTLP.ExponentialPoint, limits: CumulativeStreams, now: Double) -> Change<OTLP.ExponentialPoint> {
        let previous = entries[key]
        remember(key, point.header, .exponential(count: point.count, sum: point.sum ?? 0, scale: point.scale, zeroCount: point.zeroCount,
                                                 positive: point.positive, negative: point.negative),
                 limits: limits, now: now, unless: previous)
        guard let previous, case let .exponential(count, sum, scale, zeroCount, positive, negative) = previous.state else {
            return firstPoint(point.header, limits) ? .add(point) : .nothing
        }
        if point.header.timeUnixNano < previous.time, point.header.startTimeUnixNano == previous.start { return .nothing }
        // An SDK lowers its scale as the range widens, never raises it: the last point is brought to the new scale.
        guard point.header.startTimeUnixNano == previous.start, point.count >= count, point.zeroCount >= zeroCount, point.scale <= scale,
              let positiveDelta = Self.subtract(point.positive, Self.downscaled(positive, by: scale - point.scale)),
              let negativeDelta = Self.subtract(point.negative, Self.downscaled(negative, by: scale - point.scale))
        else { return .add(point) }
        if point.count == count { return .nothing }
        var delta = point
        delta.count = point.count - count
        delta.sum = point.sum.map { $0 - sum }
        delta.zeroCount = point.zeroCount - zeroCount
        delta.positive = positiveDelta
        delta.negative = negativeDelta
        return .add(delta)
    }

    /// Whether the first point seen of a stream counts whole: its stream started after perfmond did.
    private func firstPoint(_ header: OTLP.PointHeader, _ limits: CumulativeStreams) -> Bool {
        header.startTimeUnixNano > limits.startedAtNano
    }

    /// Keeps the point as the stream's last, unless it is older than the one kept.
    private mutating func remember(_ key: UInt64, _ header: OTLP.PointHeader, _ state: CumulativeStreams.State, limits: CumulativeStreams,
                                   now: Double, unless previous: CumulativeStreams.Entry?) {
        if let previous, header.timeUnixNano < previous.time, header.startTimeUnixNano == previous.start {
            entries[key]?.seenAt = now
            return
        }
        if previous == nil, entries.count >= limits.maxStreams { evicted += entries.removeLeastRecentlySeen(limits.maxStreams / 8 + 1, seenAt: \.seenAt) }
        journal.append((key, previous))
        entries[key] = CumulativeStreams.Entry(start: header.startTimeUnixNano, time: header.timeUnixNano, state: state, seenAt: now)
    }

    /// Buckets at a scale `shift` lower: every 2^shift neighbours merged into one.
    static func downscaled(_ buckets: OTLP.ExponentialPoint.Buckets, by shift: Int32) -> OTLP.ExponentialPoint.Buckets {
        guard shift > 0, !buckets.counts.isEmpty else { return buckets }
        var result = OTLP.ExponentialPoint.Buckets()
        result.offset = buckets.offset >> shift
        for (position, count) in buckets.counts.enumerated() {
            let index = Int((buckets.offset + Int32(position)) >> shift - result.offset)
            if index >= result.counts.count { result.counts.append(contentsOf: repeatElement(0, count: index - result.counts.count + 1)) }
            result.counts[index] += count
        }
        return result
    }

    /// `now` − `before`, bucket by bucket; nil when a bucket went down (a reset).
    static func subtract(_ now: OTLP.ExponentialPoint.Buckets, _ before: OTLP.ExponentialPoint.Buckets) -> OTLP.ExponentialPoint.Buckets? {
        var result = now
        for (position, count) in before.counts.enumerated() where count > 0 {
            let index = Int(before.offset) + position - Int(now.offset)
            guard index >= 0, index < result.counts.count, result.counts[index] >= count else { return nil }
            result.counts[index] -= count
        }
        return result
    }
}
