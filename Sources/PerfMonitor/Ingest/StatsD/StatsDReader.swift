/// Turns received StatsD bytes into events for the store, line by line, and counts every line by
/// outcome (api.md §6.3). Socket-free: the listener hands it datagrams and TCP lines; tests hand it
/// bytes. One per listener, used by one thread at a time.
///
/// Fast because lines repeat: a line's shape (all but its values) is resolved once — tags read,
/// labels sorted, mapping matched, name admitted — and remembered (`LineShapes`); and the values of
/// one series are folded into one `MetricBatch` per `take()`, so the store merges one aggregate per
/// series and batch instead of applying every line. Lines with a timestamp of their own (`|T`) and
/// gauge changes go as single events; provider mappings make one event per call, as `/events` does.
public struct StatsDReader: Sendable {
    /// The longest line taken (a TCP line past it is refused whole, as `too_long`).
    public static let maxLineBytes = 8192
    /// The most failed calls one `provider_error` line may report.
    static let maxErrorsPerLine = 1000
    /// Shapes are forgotten this often, so that a name refused when the name limit was full is
    /// looked at again.
    static let shapeLifetimeSeconds = 60.0

    public private(set) var mapping: StatsDMapping
    let catalog: MetricCatalog?
    /// Lines stamped (`|T`) further in the past are refused: the store keeps nothing older.
    let maxAgeSeconds: Double
    public private(set) var tally = StatsDTally()
    public private(set) var events: [Event] = []
    private var shapes = LineShapes<Resolution>()
    /// The custom metric series the shapes resolved to, and beside them (apart, so that reading a
    /// series never copies its batch) each one's batch since the last `take`.
    private var series: [MetricTarget] = []
    private var batches: [MetricBatch?] = []
    private var batched: [Int] = []
    /// When the latest lines were read: the time of the batches.
    private var readAt = 0.0
    private var shapesSince = -Double.infinity

    /// What a line shape resolved to.
    private enum Resolution: Sendable {
        /// Every line of the shape is refused so (a bad type, a reserved label, a refused name…).
        case refused(StatsDOutcome)
        /// A custom metric series: its position in `series`.
        case metric(Int)
        /// The provider stats.
        case provider(ProviderRoute, StatsDLine.DroppedTags)
    }

    /// A custom metric series as lines of one shape feed it.
    private struct MetricTarget: Sendable {
        let name: String
        let type: StatsDLine.MetricType
        let labels: MetricLabels
        let rate: SampleRate
        let outcome: StatsDOutcome
        let droppedTags: StatsDLine.DroppedTags

        var unit: String? { type == .timer ? "ms" : nil }
        var kind: MetricKind {
            switch type {
            case .counter: .counter
            case .gauge: .gauge
            case .timer, .histogram, .distribution: .histogram
            case .set: .set
            }
        }
    }

    /// Where a mapping into the LLM stats sends the lines of a shape.
    private struct ProviderRoute: Sendable {
        let target: StatsDMapping.ProviderTarget
        let provider: String
        let model: String?
        let errorType: String?
        let rate: SampleRate
    }

    public init(mapping: StatsDMapping = .none, catalog: MetricCatalog?, maxAgeSeconds: Double) {
        self.mapping = mapping
        self.catalog = catalog
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Takes a new mapping (SIGHUP): what was batched under the old one goes first.
    public mutating func replaceMapping(_ next: StatsDMapping) {
        guard next != mapping else { return }
        mapping = next
        flushBatches()
        forgetShapes()
    }

    /// The events read so far (each batch last) and the lines' counts, leaving both empty.
    public mutating func take() -> (events: [Event], tally: StatsDTally) {
        flushBatches()
        if shapes.isFull || readAt - shapesSince > Self.shapeLifetimeSeconds { forgetShapes() }
        defer {
            events = []
            tally = StatsDTally()
        }
        return (events, tally)
    }

    /// Reads a datagram (or a TCP read's complete lines): lines separated by `\n`, empty ones skipped.
    public mutating func read(_ bytes: UnsafeBufferPointer<UInt8>, at now: Double) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            if end > start { read(line: bytes[start..<end], at: now) }
            start = end + 1
        }
    }

    /// Reads one line (no `\n` in it).
    public mutating func read(line raw: StatsDLine.Bytes, at now: Double) {
        readAt = now
        guard raw.count <= Self.maxLineBytes else {
            tally.count(.tooLong)
            return
        }
        let line = StatsDLine.trimmed(raw)
        guard !line.isEmpty else { return }
        do throws(StatsDLineError) {
            if StatsDLine.isEventOrCheck(line) {
                tally.count(.eventOrCheck)
                return
            }
            let parts = try StatsDLine.split(line)
            // A line with a time of its own is a shape of its own: read whole, never remembered.
            if StatsDLine.hasTimestampField(parts.rest) {
                try readStamped(StatsDLine.shape(name: parts.name, rest: parts.rest), values: parts.values, now: now)
                return
            }
            let hash = LineShapes<Resolution>.hash(name: parts.name, rest: parts.rest)
            let resolution: Resolution
            if let known = shapes.find(name: parts.name, rest: parts.rest, hash: hash) {
                resolution = known
            } else {
                resolution = resolve(parts)
                shapes.insert(name: parts.name, rest: parts.rest, hash: hash, resolution)
            }
            try apply(resolution, values: parts.values, at: now, batching: true)
        } catch {
            tally.count(error.outcome)
        }
    }

    /// Counts a line the listener refused before reading it (`too_long`, `queue_full`, …).
    public mutating func count(_ outcome: StatsDOutcome, lines: Int = 1) { tally.count(outcome, lines) }

    // MARK: Shapes

    private mutating func forgetShapes() {
        shapes.removeAll()
        series.removeAll(keepingCapacity: true)
        batches.removeAll(keepingCapacity: true)
        shapesSince = readAt
    }

    /// What every line of this shape does: read its tags, match the mapping, admit the name.
    private mutating func resolve(_ parts: (name: StatsDLine.Bytes, values: StatsDLine.Bytes, rest: StatsDLine.Bytes)) -> Resolution {
        let line: StatsDLine
        do {
            line = try StatsDLine.shape(name: parts.name, rest: parts.rest)
        } catch {
            return .refused(error.outcome)
        }
        do {
            return try resolution(of: line)
        } catch {
            return .refused(error.outcome)
        }
    }

    /// Where the mapping sends a line (its first matching rule), else its own custom metric.
    private mutating func resolution(of line: StatsDLine) throws(StatsDLineError) -> Resolution {
        guard let (rule, captures) = mapping.match(line.name) else { return try metric(line, name: line.name, labels: [], outcome: .accepted) }
        let labels = rule.labels.map { ($0.name, StatsDMapping.expand($0.value, captures)) }
        switch rule.target {
        case let .metric(name):
            return try metric(line, name: name.map { StatsDMapping.expand($0, captures) } ?? line.name, labels: labels, outcome: .mapped)
        case let .provider(target):
            return .provider(try providerRoute(line, target, labels: labels), line.droppedTags)
        }
    }

    /// A custom metric series: the line's tags, then the rule's labels over them.
    private mutating func metric(_ line: StatsDLine, name sent: String, labels extra: [(String, String)],
                                 outcome: StatsDOutcome) throws(StatsDLineError) -> Resolution {
        var pairs = line.tags.map { ($0.key, $0.value) }
        for (key, value) in extra {
            guard value.utf8.count <= MetricLabels.maxValueBytes else {
                throw StatsDLineError(.badLabel, "the mapped label '\(key)' is longer than \(MetricLabels.maxValueBytes) bytes")
            }
            pairs.removeAll { $0.0 == key }
            pairs.append((key, value))
        }
        var dropped = line.droppedTags
        if pairs.count > MetricLabels.maxCount {
            pairs.sort { $0.0 < $1.0 }
            dropped.pastLimit += pairs.count - MetricLabels.maxCount
            pairs.removeLast(pairs.count - MetricLabels.maxCount)
        }
        // A gauge's level and a set's member are sent whatever the rate; it weights counts and observations.
        let rate = line.type == .gauge || line.type == .set ? SampleRate.all : line.sampleRate
        let target = MetricTarget(name: MetricNaming.metricName(sent), type: line.type, labels: MetricLabels(pairs), rate: rate,
                                  outcome: outcome, droppedTags: dropped)
        if let problem = catalog?.admit(target.name, target.kind, unit: target.unit) { throw StatsDLineError(.refusedName, problem) }
        series.append(target)
        batches.append(nil)
        return .metric(series.count - 1)
    }

    /// Provider and model from the rule's labels, else from the line's tags.
    private func providerRoute(_ line: StatsDLine, _ target: StatsDMapping.ProviderTarget,
                               labels: [(String, String)]) throws(StatsDLineError) -> ProviderRoute {
        func label(_ key: String) -> String? {
            (labels.last { $0.0 == key }?.1 ?? line.tags.last { $0.key == key }?.value).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let provider = label("provider") else {
            throw StatsDLineError(.missingProvider, "the mapping into \(target.rawValue) found no provider label or tag")
        }
        guard line.type != .set else { throw StatsDLineError(.badValue, "\(target.rawValue) takes numbers, not a set's members") }
        return ProviderRoute(target: target, provider: provider, model: label("model"), errorType: label("error_type"), rate: line.sampleRate)
    }

    // MARK: Values

    /// Applies a line's values as its shape says, at `time`: batched per series (the values of the
    /// read), or each a single event (a line with its own time). A gauge's change is always single.
    private mutating func apply(_ resolution: Resolution, values section: StatsDLine.Bytes, at time: Double,
                                batching: Bool) throws(StatsDLineError) {
        switch resolution {
        case let .refused(outcome):
            throw StatsDLineError(outcome, "refused as its shape was")
        case let .metric(position):
            let type = series[position].type, weight = series[position].rate.weight
            try StatsDLine.forEachValue(in: section, of: type) { value throws(StatsDLineError) in
                let update = try Self.update(value, of: type)
                if batching, !update.isChange {
                    if batches[position] == nil {
                        batches[position] = MetricBatch(kind: series[position].kind)
                        batched.append(position)
                    }
                    batches[position]!.record(update, at: time, weight: weight)
                } else {
                    if batching { flushBatches() }  // a change after what came before it, of any shape of the series
                    let target = series[position]
                    events.append(Event(.metric(MetricSample(name: target.name, update, unit: target.unit, labels: target.labels, source: .statsd)),
                                        at: time, sampleRate: target.rate))
                }
            }
            count(series[position].outcome, series[position].droppedTags)
        case let .provider(route, dropped):
            try appendCalls(route, StatsDLine.values(section, of: .histogram), at: time)
            count(.mapped, dropped)
        }
    }

    private mutating func count(_ outcome: StatsDOutcome, _ dropped: StatsDLine.DroppedTags) {
        tally.count(outcome)
        tally.tagsWithoutValue += dropped.withoutValue
        tally.tagsPastLimit += dropped.pastLimit
    }

    /// A line with its own timestamp: resolved on its own, its values as single events at that time.
    private mutating func readStamped(_ line: StatsDLine, values section: StatsDLine.Bytes, now: Double) throws(StatsDLineError) {
        let timestamp = line.timestamp ?? now  // a `|T` field that reads sets it, or throws
        guard timestamp >= now - maxAgeSeconds, timestamp <= now + 300 else {
            throw StatsDLineError(.badTimestamp, "the timestamp \(timestamp) is older than the retention or more than 5 minutes ahead")
        }
        var unstamped = line
        unstamped.timestamp = nil
        let keptSeries = series.count
        defer {  // not remembered: its shape has its time in it
            series.removeSubrange(keptSeries...)
            batches.removeSubrange(keptSeries...)
        }
        try apply(try resolution(of: unstamped), values: section, at: timestamp, batching: false)
    }

    private static func update(_ value: StatsDLine.Value, of type: StatsDLine.MetricType) throws(StatsDLineError) -> MetricUpdate {
        switch (type, value) {
        case let (.counter, .number(increment)): .counter(increment: increment)
        case let (.gauge, .number(level)): .gauge(level)
        case let (.gauge, .change(change)): .gaugeDelta(change)
        case let (.timer, .number(observed)), let (.histogram, .number(observed)), let (.distribution, .number(observed)): .histogram(observed)
        case let (.set, .member(member)): .set(member: member)
        default: throw StatsDLineError(.badValue, "a value that does not fit the type '\(type.rawValue)'")
        }
    }

    /// The events of a mapping into the LLM stats: calls, failed calls or what a pair used.
    private mutating func appendCalls(_ route: ProviderRoute, _ values: [StatsDLine.Value], at timestamp: Double) throws(StatsDLineError) {
        var numbers: [Double] = []
        for value in values {
            guard case let .number(number) = value, number >= 0 else { throw StatsDLineError(.badValue, "\(route.target.rawValue) takes numbers ≥ 0") }
            numbers.append(number)
        }
        if route.target == .error, let bad = numbers.first(where: { $0 != $0.rounded() || $0 > Double(Self.maxErrorsPerLine) }) {
            throw StatsDLineError(.badValue, "provider_error counts failed calls: a whole number up to \(Self.maxErrorsPerLine), got \(bad)")
        }
        let (provider, model, rate) = (route.provider, route.model, route.rate)
        for number in numbers {
            switch route.target {
            case .durationMs:
                events.append(Event(.providerCall(ProviderCall(provider: provider, model: model, outcome: CallOutcome(success: true, durationMs: number))),
                                    at: timestamp, sampleRate: rate))
            case .error:
                let failed = Event(.providerCall(ProviderCall(provider: provider, model: model, outcome: CallOutcome(success: false, errorType: route.errorType))),
                                   at: timestamp, sampleRate: rate)
                events.append(contentsOf: repeatElement(failed, count: Int(number)))
            case .ttftMs, .tokensInput, .tokensOutput, .costUSD:
                let target = route.target
                let usage = ProviderUsage(provider: provider, model: model, ttftMs: target == .ttftMs ? number : nil,
                                          inputTokens: target == .tokensInput ? number : nil,
                                          outputTokens: target == .tokensOutput ? number : nil, costUSD: target == .costUSD ? number : nil)
                if let usage { events.append(Event(.providerUsage(usage), at: timestamp, sampleRate: rate)) }
            }
        }
    }

    // MARK: Batches

    private mutating func flushBatches() {
        for position in batched { flushBatch(position) }
        batched.removeAll(keepingCapacity: true)
    }

    /// The series' batch as one event, if it has one.
    private mutating func flushBatch(_ position: Int) {
        guard let batch = batches[position] else { return }
        let target = series[position]
        batches[position] = nil
        events.append(Event(.metric(MetricSample(name: target.name, .batch(batch), unit: target.unit, labels: target.labels, source: .statsd)),
                            at: readAt))
    }
}

/// Lines counted by outcome, and the tags dropped from lines that were kept.
public struct StatsDTally: Sendable, Equatable {
    public private(set) var lines = [Int](repeating: 0, count: StatsDOutcome.allCases.count)
    /// Tags without a value (`|#flag`), dropped; their lines kept.
    public var tagsWithoutValue = 0
    /// Tags past the eighth label (in key order), dropped; their lines kept.
    public var tagsPastLimit = 0

    public init() {}

    public subscript(outcome: StatsDOutcome) -> Int { lines[outcome.ordinal] }

    public mutating func count(_ outcome: StatsDOutcome, _ lines: Int = 1) { self.lines[outcome.ordinal] += lines }

    public mutating func add(_ other: StatsDTally) {
        for index in lines.indices { lines[index] += other.lines[index] }
        tagsWithoutValue += other.tagsWithoutValue
        tagsPastLimit += other.tagsPastLimit
    }

    public var total: Int { lines.reduce(0, +) }

    /// The same lines, those that were taken (`accepted`, `mapped`) now counted as `outcome`:
    /// their events could not be handed to the store.
    public func refused(as outcome: StatsDOutcome) -> StatsDTally {
        var refused = self
        let taken = self[.accepted] + self[.mapped]
        refused.lines[StatsDOutcome.accepted.ordinal] = 0
        refused.lines[StatsDOutcome.mapped.ordinal] = 0
        refused.count(outcome, taken)
        return refused
    }
}

extension StatsDOutcome {
    /// The position in `allCases`, for counting in an array (a switch: no array made per line).
    var ordinal: Int {
        switch self {
        case .accepted: 0
        case .mapped: 1
        case .folded: 2
        case .badLine: 3
        case .badValue: 4
        case .badSampleRate: 5
        case .badTimestamp: 6
        case .badLabel: 7
        case .tooLong: 8
        case .refusedName: 9
        case .missingProvider: 10
        case .eventOrCheck: 11
        case .queueFull: 12
        case .shuttingDown: 13
        }
    }
}
