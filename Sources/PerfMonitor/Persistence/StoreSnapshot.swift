#if canImport(Glibc)
import Glibc
#endif

/// The store's state as written to `state_file`: every series with its windows, the starts still
/// waiting for their end, and named counters (the store's own and the daemon's ingest counters),
/// so that after a restart counters and windows continue where they were.
///
/// File layout (little-endian): "PERFMOND", format version (u32), CRC-32 of the rest (u32), then
/// the body. Version 2 added the custom metric kinds (a counter's sum, a set's members, each
/// metric's unit), version 3 the retries per request and the component of a task in flight, version 4
/// a set's estimate past 10,000 members (a HyperLogLog's registers), version 5 named sections of
/// other components (the OTLP cumulative streams), version 6 the sketch in the native histogram
/// layout and each series' classic `le` counts with the bounds they were counted against; older
/// files are still read, and converted.
/// Anything else is moved aside.
public struct StoreSnapshot: Sendable {
    public static let formatVersion: UInt32 = 6
    static let readableVersions: ClosedRange<UInt32> = 1...6
    static let magic = Array("PERFMOND".utf8)

    /// Unix seconds when it was taken.
    public var savedAt: Double
    var layout: WindowLayout
    var series: [SeriesKey: Series]
    var openRequests: [String: OpenCalls.Call]
    var openProviderCalls: [String: OpenCalls.Call]
    /// Counters by name; the daemon adds its own (`ingest.accepted_events`…) before writing.
    public var counters: [String: Double]
    /// Each custom metric's unit (the kind is its series kind).
    var metricUnits: [String: String] = [:]
    /// What other components keep across restarts, by name, as they encode it (the daemon adds
    /// `otlp.streams` before writing and hands it back after reading).
    public var sections: [String: [UInt8]] = [:]
    /// The bounds the series' classic counts were counted against (nil before format 6: the
    /// counts are folded from the sketches on restore, as they are when the bounds changed).
    var classicBounds: ClassicBounds?

    public var seriesCount: Int { series.count }

    /// Events the store had applied when it was taken (its `store.applied.<type>` counters).
    public var appliedEvents: Double {
        counters.reduce(0) { $0 + ($1.key.hasPrefix("store.applied.") ? $1.value : 0) }
    }

    /// A counter as a whole number: 0 when absent, negative, or not a count at all.
    public func count(_ name: String) -> Int {
        guard let value = counters[name], value.isFinite, value >= 0, value < 9e15 else { return 0 }
        return Int(value)
    }

    public func encoded() -> [UInt8] {
        var body = SnapshotWriter(capacity: 64 + series.count * 512)
        body.f64(savedAt)
        body.count(layout.tiers.count)
        for tier in layout.tiers {
            body.i64(tier.width)
            body.i64(tier.span)
        }
        body.i64(layout.retentionSeconds)
        body.count(counters.count)
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) {
            body.string(name)
            body.f64(value)
        }
        body.count(openRequests.count + openProviderCalls.count)
        for (isProviderCall, calls) in [(false, openRequests), (true, openProviderCalls)] {
            for (id, call) in calls {
                body.u8(isProviderCall ? 1 : 0)
                body.string(id)
                call.write(to: &body)
            }
        }
        body.count(series.count)
        for (key, value) in series {
            body.string(key.kind.rawValue)
            body.string(key.first)
            body.string(key.second)
            body.f64(value.firstSeen)
            body.f64(value.lastSeen)
            value.cumulative.write(to: &body)
            for counts in [value.classic.values, value.classic.timeToFirstToken] { body.f64s(counts.counts) }
            body.count(value.windows.tiers.count)
            for buckets in value.windows.tiers {
                body.count(buckets.count)
                for bucket in buckets {
                    body.i64(bucket.start)
                    bucket.aggregate.write(to: &body)
                }
            }
        }
        body.count(metricUnits.count)
        for (name, unit) in metricUnits.sorted(by: { $0.key < $1.key }) {
            body.string(name)
            body.string(unit)
        }
        body.count(sections.count)
        for (name, section) in sections.sorted(by: { $0.key < $1.key }) {
            body.string(name)
            body.blob(section)
        }
        let bounds = classicBounds ?? ClassicBounds()
        for list in ClassicBounds.lists { body.f64s(bounds[keyPath: list]) }
        var file = SnapshotWriter(capacity: body.bytes.count + 16)
        for byte in Self.magic { file.u8(byte) }
        file.u32(Self.formatVersion)
        file.u32(crc32(body.bytes[...]))
        return file.bytes + body.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(SnapshotError) -> StoreSnapshot {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw .damaged("not a perfmond snapshot (no PERFMOND header)") }
        var header = SnapshotReader(bytes, offset: 8)
        let version = try header.u32()
        guard readableVersions.contains(version) else {
            throw .incompatible("format version \(version); this perfmond reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
        let checksum = try header.u32()
        guard crc32(header.rest) == checksum else { throw .damaged("checksum mismatch (the file was cut short or changed)") }

        var reader = SnapshotReader(bytes, offset: header.offset)
        let savedAt = try reader.f64()
        var tiers: [WindowLayout.Tier] = []
        for _ in 0..<(try reader.count(itemSize: 16)) {
            let width = try reader.i64(), span = try reader.i64()
            guard width > 0, span > 0 else { throw .damaged("a window tier of width \(width) and span \(span)") }
            tiers.append(WindowLayout.Tier(width: width, span: span))
        }
        let layout = WindowLayout(tiers: tiers, retentionSeconds: try reader.i64())
        var counters: [String: Double] = [:]
        for _ in 0..<(try reader.count(itemSize: 12)) {
            let name = try reader.string()
            counters[name] = try reader.f64()
        }
        var openRequests: [String: OpenCalls.Call] = [:], openProviderCalls: [String: OpenCalls.Call] = [:]
        for _ in 0..<(try reader.count(itemSize: 25)) {
            let isProviderCall = try reader.u8() == 1
            let id = try reader.string()
            let call = try OpenCalls.Call(from: &reader, version: version)
            if isProviderCall { openProviderCalls[id] = call } else { openRequests[id] = call }
        }
        var series: [SeriesKey: Series] = [:]
        let seriesCount = try reader.count(itemSize: 40)
        series.reserveCapacity(seriesCount)
        for _ in 0..<seriesCount {
            let kindName = try reader.string()
            guard let kind = SeriesKind(rawValue: kindName) else { throw .damaged("unknown series kind '\(kindName)'") }
            let key = SeriesKey(kind, try reader.string(), try reader.string())
            var value = Series(layout: layout, now: try reader.f64())
            value.lastSeen = try reader.f64()
            value.cumulative = try Aggregate(from: &reader, version: version)
            if version >= 6 {
                let values = try reader.f64s(), ttft = try reader.f64s()
                value.classic = ClassicHistograms(values: ClassicCounts(restoring: values), timeToFirstToken: ClassicCounts(restoring: ttft))
            }
            let tierCount = try reader.count(itemSize: 4)
            guard tierCount == layout.tiers.count else { throw .damaged("series \(key.first) has \(tierCount) tiers, the layout \(layout.tiers.count)") }
            for tier in 0..<tierCount {
                for _ in 0..<(try reader.count(itemSize: 8)) {
                    let start = try reader.i64()
                    if let last = value.windows.tiers[tier].last, start <= last.start { throw .damaged("window buckets out of order") }
                    value.windows.tiers[tier].append(TimeBuckets.Bucket(start: start, aggregate: try Aggregate(from: &reader, version: version)))
                }
            }
            series[key] = value
        }
        var metricUnits: [String: String] = [:]
        if version >= 2 {
            for _ in 0..<(try reader.count(itemSize: 8)) {
                let name = try reader.string()
                metricUnits[name] = try reader.string()
            }
        }
        var sections: [String: [UInt8]] = [:]
        if version >= 5 {
            for _ in 0..<(try reader.count(itemSize: 8)) {
                let name = try reader.string()
                sections[name] = try reader.blob()
            }
        }
        var classicBounds: ClassicBounds?
        if version >= 6 {
            var bounds = ClassicBounds()
            for list in ClassicBounds.lists { bounds[keyPath: list] = try reader.f64s() }
            classicBounds = bounds
        }
        guard reader.isAtEnd else { throw .damaged("\(bytes.count - reader.offset) bytes after the last series") }
        return StoreSnapshot(savedAt: savedAt, layout: layout, series: series, openRequests: openRequests,
                             openProviderCalls: openProviderCalls, counters: counters, metricUnits: metricUnits, sections: sections,
                             classicBounds: classicBounds)
    }
}

extension OpenCalls.Call {
    func write(to writer: inout SnapshotWriter) {
        writer.f64(timestamp)
        writer.f64(receivedAt)
        writer.optionalString(endpoint)
        writer.optionalString(method)
        writer.optionalString(provider)
        writer.optionalString(model)
        writer.optionalString(component)
        writer.optionalString(operation)
    }

    init(from reader: inout SnapshotReader, version: UInt32) throws(SnapshotError) {
        self.init(timestamp: try reader.f64(), receivedAt: try reader.f64(), endpoint: try reader.optionalString(),
                  method: try reader.optionalString(), provider: try reader.optionalString(), model: try reader.optionalString())
        guard version >= 3 else { return }  // version 2 had no component tasks
        component = try reader.optionalString()
        operation = try reader.optionalString()
    }
}

extension Aggregate {
    func write(to writer: inout SnapshotWriter) {
        let calls = callTotals
        for value in [total, calls.successes, calls.failures, calls.costUSD, calls.inputTokens, calls.outputTokens, calls.requestBytes,
                      calls.responseBytes, calls.rateLimitHits, calls.cacheHits, calls.cacheMisses, lastValue, lastValueAt] {
            writer.f64(value)
        }
        writer.count(calls.statusCodes.count)
        for (code, count) in calls.statusCodes {
            writer.i64(Int64(code))
            writer.f64(count)
        }
        writer.count(calls.errorTypes.count)
        for (type, count) in calls.errorTypes {
            writer.string(type)
            writer.f64(count)
        }
        distribution.write(to: &writer)
        calls.ttft.write(to: &writer)
        writer.f64(valueSum)
        if let registers = distinct.registers {
            writer.u8(1)
            writer.count(registers.count)
            for register in registers { writer.u8(register) }
        } else {
            writer.u8(0)
            let members = distinct.exactMembers ?? []
            writer.count(members.count)
            for member in members { writer.string(member) }
        }
        calls.retries.write(to: &writer)
    }

    init(from reader: inout SnapshotReader, version: UInt32) throws(SnapshotError) {
        self.init()
        // Read into parts of their own, set at the end: an empty part is kept off the heap (a
        // custom metric's aggregate has no call part).
        var calls = CallTotals()
        total = try reader.f64()
        calls.successes = try reader.f64()
        calls.failures = try reader.f64()
        calls.costUSD = try reader.f64()
        calls.inputTokens = try reader.f64()
        calls.outputTokens = try reader.f64()
        calls.requestBytes = try reader.f64()
        calls.responseBytes = try reader.f64()
        calls.rateLimitHits = try reader.f64()
        calls.cacheHits = try reader.f64()
        calls.cacheMisses = try reader.f64()
        lastValue = try reader.f64()
        lastValueAt = try reader.f64()
        for _ in 0..<(try reader.count(itemSize: 16)) {
            let code = try reader.i64()
            guard (0...999).contains(code) else { throw .damaged("status code \(code)") }
            calls.statusCodes[Int(code)] = try reader.f64()
        }
        for _ in 0..<(try reader.count(itemSize: 12)) {
            let type = try reader.string()
            calls.errorTypes[type] = try reader.f64()
        }
        let values = try Distribution(from: &reader, version: version)
        calls.ttft = try Distribution(from: &reader, version: version)
        defer { restore(calls: calls, values: values) }
        guard version >= 2 else { return }  // version 1 had untyped custom metrics only
        valueSum = try reader.f64()
        // Versions 2 and 3: a capped flag (the set then stopped at 10,000), then the members.
        // Version 4: 0 then the members, or 1 then the estimate's registers.
        let form = try reader.u8()
        if version >= 4, form == 1 {
            var registers: [UInt8] = []
            for _ in 0..<(try reader.count(itemSize: 1)) { registers.append(try reader.u8()) }
            guard let sketch = DistinctMembers(registers: registers) else { throw .damaged("a set's estimate of \(registers.count) registers") }
            distinct = sketch
        } else {
            var members: [String] = []
            for _ in 0..<(try reader.count(itemSize: 4)) { members.append(try reader.string()) }
            distinct = DistinctMembers(exact: members)
        }
        guard version >= 3 else { return }  // version 2 had no retries
        calls.restore(retries: try Distribution(from: &reader, version: version))
    }
}

extension Distribution {
    func write(to writer: inout SnapshotWriter) {
        for value in [count, sum, sumOfSquares, min, max, zeroCount] { writer.f64(value) }
        positive.write(to: &writer)
        negative.write(to: &writer)
    }

    /// Formats before 6 had buckets 2 % wide (DDSketch's γ = 1.0099 / 0.9901): each is moved whole
    /// into the native-layout bucket holding its middle.
    init(from reader: inout SnapshotReader, version: UInt32) throws(SnapshotError) {
        self.init()
        count = try reader.f64()
        sum = try reader.f64()
        sumOfSquares = try reader.f64()
        min = try reader.f64()
        max = try reader.f64()
        zeroCount = try reader.f64()
        positive = try SparseBuckets(from: &reader)
        negative = try SparseBuckets(from: &reader)
        guard version < 6 else { return }
        positive = positive.rebucketed(Self.estimateBeforeFormat6)
        negative = negative.rebucketed(Self.estimateBeforeFormat6)
    }

    /// The middle of a bucket of the layout before format 6.
    static func estimateBeforeFormat6(_ index: Int32) -> Double {
        let gamma = 1.0099 / 0.9901
        return 2 * pow(gamma, Double(index)) / (gamma + 1)
    }
}

extension SparseBuckets {
    /// The same weights with each bucket moved into the current layout's bucket holding `middle(index)`.
    func rebucketed(_ middle: (Int32) -> Double) -> SparseBuckets {
        var result = SparseBuckets()
        for (index, count) in zip(indices, counts) { result.add(Distribution.index(of: middle(index)), count) }
        return result
    }

    func write(to writer: inout SnapshotWriter) {
        writer.count(indices.count)
        for index in indices { writer.i32(index) }
        for count in counts { writer.f64(count) }
    }

    init(from reader: inout SnapshotReader) throws(SnapshotError) {
        self.init()
        let size = try reader.count(itemSize: 12)
        indices.reserveCapacity(size)
        counts.reserveCapacity(size)
        for _ in 0..<size {
            let index = try reader.i32()
            // Merging relies on ascending indices: anything else is damage.
            if let last = indices.last, index <= last { throw .damaged("histogram buckets out of order") }
            indices.append(index)
        }
        for _ in 0..<size { counts.append(try reader.f64()) }
    }
}
