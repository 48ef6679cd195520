/// Turns received StatsD bytes into events for the store, line by line, and counts every line by
/// outcome (api.md §6.3). Socket-free: the listener hands it datagrams and TCP lines; tests hand it
/// bytes. One per listener, used by one thread at a time.
public struct StatsDReader: Sendable {
    /// The longest line taken (a TCP line past it is refused whole, as `too_long`).
    public static let maxLineBytes = 8192
    /// The most failed calls one `provider_error` line may report.
    static let maxErrorsPerLine = 1000

    public var mapping: StatsDMapping
    let catalog: MetricCatalog?
    /// Lines stamped (`|T`) further in the past are refused: the store keeps nothing older.
    let maxAgeSeconds: Double
    public private(set) var tally = StatsDTally()
    public private(set) var events: [Event] = []
    /// The rule each name matched last (names repeat: the glob is tried once per name), bounded.
    private var matches: [String: Match] = [:]
    private static let maxRemembered = 10_000

    private enum Match {
        case none
        case rule(StatsDMapping.Rule, [Substring])
    }

    public init(mapping: StatsDMapping = .none, catalog: MetricCatalog?, maxAgeSeconds: Double) {
        self.mapping = mapping
        self.catalog = catalog
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Takes a new mapping (SIGHUP), forgetting the matches of the old one.
    public mutating func replaceMapping(_ next: StatsDMapping) {
        guard next != mapping else { return }
        mapping = next
        matches = [:]
    }

    /// The events read so far and the lines' counts, leaving both empty.
    public mutating func take() -> (events: [Event], tally: StatsDTally) {
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
    public mutating func read(line: StatsDLine.Bytes, at now: Double) {
        if line.count == 1, line.first == UInt8(ascii: "\r") { return }
        guard line.count <= Self.maxLineBytes else {
            tally.count(.tooLong)
            return
        }
        do {
            switch try StatsDLine.parse(UnsafeBufferPointer(rebasing: line)) {
            case .eventOrCheck:
                tally.count(.eventOrCheck)
            case let .metric(parsed):
                tally.tagsWithoutValue += parsed.droppedTags.withoutValue
                tally.tagsPastLimit += parsed.droppedTags.pastLimit
                tally.count(try append(parsed, at: now))
            }
        } catch {
            tally.count(error.outcome)
        }
    }

    /// Counts a line the listener refused before reading it (`too_long`, `queue_full`, …).
    public mutating func count(_ outcome: StatsDOutcome, lines: Int = 1) { tally.count(outcome, lines) }

    /// Appends the line's events; the outcome it is counted under.
    private mutating func append(_ line: StatsDLine, at now: Double) throws(StatsDLineError) -> StatsDOutcome {
        let timestamp = line.timestamp ?? now
        guard timestamp >= now - maxAgeSeconds, timestamp <= now + 300 else {
            throw StatsDLineError(.badTimestamp, "the timestamp \(timestamp) is older than the retention or more than 5 minutes ahead")
        }
        switch match(line.name) {
        case .none:
            try appendMetric(line, name: line.name, labels: [], at: timestamp)
            return .accepted
        case let .rule(rule, captures):
            let labels = rule.labels.map { ($0.name, StatsDMapping.expand($0.value, captures)) }
            switch rule.target {
            case let .metric(name):
                try appendMetric(line, name: name.map { StatsDMapping.expand($0, captures) } ?? line.name, labels: labels, at: timestamp)
            case let .provider(target):
                try appendProvider(line, target, labels: labels, at: timestamp)
            }
            return .mapped
        }
    }

    private mutating func match(_ name: String) -> Match {
        if let known = matches[name] { return known }
        let found: Match = mapping.match(name).map { .rule($0.rule, $0.captures) } ?? .none
        if matches.count >= Self.maxRemembered { matches.removeAll(keepingCapacity: true) }
        matches[name] = found
        return found
    }

    /// One custom metric event per value: the line's tags, then the rule's labels over them.
    private mutating func appendMetric(_ line: StatsDLine, name sent: String, labels extra: [(String, String)],
                                       at timestamp: Double) throws(StatsDLineError) {
        let name = Self.metricName(sent)
        var pairs = line.tags.map { ($0.key, $0.value) }
        for (key, value) in extra {
            guard value.utf8.count <= MetricLabels.maxValueBytes else {
                throw StatsDLineError(.badLabel, "the mapped label '\(key)' is longer than \(MetricLabels.maxValueBytes) bytes")
            }
            pairs.removeAll { $0.0 == key }
            pairs.append((key, value))
        }
        if pairs.count > MetricLabels.maxCount {
            pairs.sort { $0.0 < $1.0 }
            tally.tagsPastLimit += pairs.count - MetricLabels.maxCount
            pairs.removeLast(pairs.count - MetricLabels.maxCount)
        }
        let labels = MetricLabels(pairs)
        let unit: String? = line.type == .timer ? "ms" : nil
        var samples: [MetricSample] = []
        samples.reserveCapacity(line.values.count)
        for value in line.values {
            let update: MetricUpdate
            switch (line.type, value) {
            case let (.counter, .number(increment)): update = .counter(increment: increment)
            case let (.gauge, .number(level)): update = .gauge(level)
            case let (.gauge, .change(change)): update = .gaugeDelta(change)
            case let (.timer, .number(observed)), let (.histogram, .number(observed)), let (.distribution, .number(observed)):
                update = .histogram(observed)
            case let (.set, .member(member)): update = .set(member: member)
            default: throw StatsDLineError(.badValue, "a value that does not fit the type '\(line.type.rawValue)'")
            }
            samples.append(MetricSample(name: name, update, unit: unit, labels: labels, source: .statsd))
        }
        if let problem = catalog?.admit(samples[0]) { throw StatsDLineError(.refusedName, problem) }
        // StatsD's rate weights counts and observations; a gauge's level and a set's member are
        // each sent whatever the rate.
        let rate = line.type == .gauge || line.type == .set ? SampleRate.all : line.sampleRate
        for sample in samples { events.append(Event(.metric(sample), at: timestamp, sampleRate: rate)) }
    }

    /// The events a mapping into the LLM stats makes: provider and model from the rule's labels,
    /// else from the line's tags.
    private mutating func appendProvider(_ line: StatsDLine, _ target: StatsDMapping.ProviderTarget, labels: [(String, String)],
                                         at timestamp: Double) throws(StatsDLineError) {
        func label(_ key: String) -> String? {
            (labels.last { $0.0 == key }?.1 ?? line.tags.last { $0.key == key }?.value).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let provider = label("provider") else {
            throw StatsDLineError(.missingProvider, "the mapping into \(target.rawValue) found no provider label or tag")
        }
        let model = label("model")
        var numbers: [Double] = []
        for value in line.values {
            guard case let .number(number) = value, number >= 0 else {
                throw StatsDLineError(.badValue, "\(target.rawValue) takes numbers ≥ 0")
            }
            numbers.append(number)
        }
        if target == .error, let bad = numbers.first(where: { $0 != $0.rounded() || $0 > Double(Self.maxErrorsPerLine) }) {
            throw StatsDLineError(.badValue, "provider_error counts failed calls: a whole number up to \(Self.maxErrorsPerLine), got \(bad)")
        }
        let rate = line.sampleRate
        for number in numbers {
            switch target {
            case .durationMs:
                events.append(Event(.providerCall(ProviderCall(provider: provider, model: model, outcome: CallOutcome(success: true, durationMs: number))),
                                    at: timestamp, sampleRate: rate))
            case .error:
                let failed = Event(.providerCall(ProviderCall(provider: provider, model: model,
                                                              outcome: CallOutcome(success: false, errorType: label("error_type")))),
                                   at: timestamp, sampleRate: rate)
                events.append(contentsOf: repeatElement(failed, count: Int(number)))
            case .ttftMs, .tokensInput, .tokensOutput, .costUSD:
                let usage = ProviderUsage(provider: provider, model: model, ttftMs: target == .ttftMs ? number : nil,
                                          inputTokens: target == .tokensInput ? number : nil,
                                          outputTokens: target == .tokensOutput ? number : nil, costUSD: target == .costUSD ? number : nil)
                if let usage { events.append(Event(.providerUsage(usage), at: timestamp, sampleRate: rate)) }
            }
        }
    }

    /// A StatsD name as a custom metric name (api.md §7's `[a-zA-Z_][a-zA-Z0-9_.-]*`): each other
    /// byte becomes `_`, and a name that does not start with a letter or `_` gets one before it.
    /// `/metrics` then writes `.` and `-` as `_` too.
    static func metricName(_ name: String) -> String {
        func allowed(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"): true
            default: false
            }
        }
        let utf8 = name.utf8
        let startsWell = utf8.first.map { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "_") } ?? false
        if startsWell, utf8.allSatisfy(allowed) { return name }
        let bytes = utf8.map { allowed($0) ? $0 : UInt8(ascii: "_") }
        return (startsWell ? "" : "_") + String(decoding: bytes, as: UTF8.self)
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
    /// The position in `allCases`, for counting in an array.
    var ordinal: Int { Self.allCases.firstIndex(of: self)! }
}
