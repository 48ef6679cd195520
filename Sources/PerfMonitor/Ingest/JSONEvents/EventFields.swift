import PerfJSON

#if canImport(Glibc)
import Glibc
#endif

/// The members of one event object, read field by field with the contract's types and ranges.
/// One pass over the members with a switch on the key: no hashing per event (the ingest hot path).
struct EventFields {
    var type: JSONValue?
    var timestamp: JSONValue?
    var requestId: JSONValue?
    var provider: JSONValue?
    var model: JSONValue?
    var endpoint: JSONValue?
    var method: JSONValue?
    var component: JSONValue?
    var operation: JSONValue?
    var durationMs: JSONValue?
    var ttftMs: JSONValue?
    var statusCode: JSONValue?
    var errorType: JSONValue?
    var error: JSONValue?
    var costUsd: JSONValue?
    var cost: JSONValue?
    var inputTokens: JSONValue?
    var outputTokens: JSONValue?
    var requestBytes: JSONValue?
    var bytesSent: JSONValue?
    var bytesReceived: JSONValue?
    var cacheHit: JSONValue?
    var retryCount: JSONValue?
    var inputSize: JSONValue?
    var responseBytes: JSONValue?
    var responseSize: JSONValue?
    var metric: JSONValue?
    var value: JSONValue?
    var unit: JSONValue?
    var metadata: JSONValue?
    var sampleRate: JSONValue?
    var success: JSONValue?
    var kind: JSONValue?
    var labels: JSONValue?
    /// The `labels` object's JSON text, by which a label set read before is recognised.
    var labelsText: JSONText?
    var delta: JSONValue?
    var accessTimeMs: JSONValue?
    var eventId: JSONValue?

    init() {}

    init(members: [(String, JSONValue)]) {
        for (key, member) in members {
            var key = key
            key.withUTF8 { take($0, member) }
        }
    }

    /// Keeps `member` under its key (UTF-8 bytes); the first occurrence of a key wins, unknown
    /// keys are ignored. Dispatching on the key's length first leaves one to four byte
    /// comparisons per member instead of up to 28 string comparisons: this runs for every member
    /// of every event (measured: the key switch was the largest single cost of batched ingest).
    mutating func take(_ key: UnsafeBufferPointer<UInt8>, _ member: JSONValue, _ text: UnsafeBufferPointer<UInt8>? = nil) {
        func keep(_ slot: inout JSONValue?) { if slot == nil { slot = member } }
        func `is`(_ name: StaticString) -> Bool {
            memcmp(key.baseAddress!, name.utf8Start, key.count) == 0
        }
        guard key.count >= 4 else { return }
        switch key.count {
        case 4:
            if `is`("type") { keep(&type) } else if `is`("cost") { keep(&cost) } else if `is`("unit") { keep(&unit) }
            else if `is`("kind") { keep(&kind) }
        case 5:
            if `is`("model") { keep(&model) } else if `is`("error") { keep(&error) } else if `is`("value") { keep(&value) }
            else if `is`("delta") { keep(&delta) }
        case 6:
            if `is`("method") { keep(&method) } else if `is`("metric") { keep(&metric) } else if `is`("labels"), labels == nil {
                labels = member
                if case .object = member, let text { labelsText = JSONText(text) }
            }
        case 7:
            if `is`("ttft_ms") { keep(&ttftMs) } else if `is`("success") { keep(&success) }
        case 8:
            if `is`("provider") { keep(&provider) } else if `is`("endpoint") { keep(&endpoint) }
            else if `is`("cost_usd") { keep(&costUsd) } else if `is`("metadata") { keep(&metadata) }
            else if `is`("event_id") { keep(&eventId) }
        case 9:
            if `is`("timestamp") { keep(&timestamp) } else if `is`("component") { keep(&component) }
            else if `is`("operation") { keep(&operation) } else if `is`("cache_hit") { keep(&cacheHit) }
        case 10:
            if `is`("request_id") { keep(&requestId) } else if `is`("error_type") { keep(&errorType) }
            else if `is`("input_size") { keep(&inputSize) } else if `is`("bytes_sent") { keep(&bytesSent) }
        case 11:
            if `is`("duration_ms") { keep(&durationMs) } else if `is`("status_code") { keep(&statusCode) }
            else if `is`("sample_rate") { keep(&sampleRate) } else if `is`("retry_count") { keep(&retryCount) }
        case 12:
            if `is`("input_tokens") { keep(&inputTokens) }
        case 13:
            if `is`("output_tokens") { keep(&outputTokens) } else if `is`("request_bytes") { keep(&requestBytes) }
            else if `is`("response_size") { keep(&responseSize) }
        case 14:
            if `is`("response_bytes") { keep(&responseBytes) } else if `is`("access_time_ms") { keep(&accessTimeMs) }
            else if `is`("bytes_received") { keep(&bytesReceived) }
        default:
            break
        }
    }

    /// The typed event, every field checked in one fixed order (so that the first thing wrong is
    /// the one reported), then what the kind cannot do without (api.md §1: what it updates decides
    /// what it needs).
    func event(now: Double, decoder: EventDecoder) throws(EventError) -> Event {
        guard let typeName = try string(type, "type") else { throw EventError("field 'type': required") }
        guard let eventType = EventType(name: typeName) else {
            throw EventError("field 'type': unknown event type \(JSONValue.string(typeName).quoted); expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let timestamp = try time(now: now, decoder: decoder)
        // Seed 002 calls it event_id.
        var requestID = try identifier(requestId, "request_id")
        if requestID == nil { requestID = try identifier(eventId, "event_id") }
        let provider = try label(provider, "provider")
        let model = try label(model, "model")
        let endpoint = try label(endpoint, "endpoint")
        let method = try label(method, "method")?.uppercased()
        let component = try label(component, "component")
        let operation = try label(operation, "operation")
        var outcome = CallOutcome()
        typealias Limits = EventLimits
        outcome.durationMs = try bounded(number(durationMs, "duration_ms", atLeast: 0), "duration_ms", Limits.maxMilliseconds, "a day", raw: durationMs)
        outcome.ttftMs = try bounded(number(ttftMs, "ttft_ms", atLeast: 0), "ttft_ms", Limits.maxMilliseconds, "a day", raw: ttftMs)
        outcome.statusCode = try integer(statusCode, "status_code", in: 100...599)
        outcome.errorType = try label(errorType, "error_type")
        outcome.errorMessage = try string(error, "error").flatMap { $0.isEmpty ? nil : Limits.cut($0, to: Limits.maxMessageBytes) }
        outcome.costUSD = try bounded(number(costUsd, "cost_usd", atLeast: 0), "cost_usd", Limits.maxCostUSD, "US dollars", raw: costUsd)
        if outcome.costUSD == nil { outcome.costUSD = try bounded(number(cost, "cost", atLeast: 0), "cost", Limits.maxCostUSD, "US dollars", raw: cost) }
        outcome.inputTokens = try bounded(count(inputTokens, "input_tokens"), "input_tokens", Limits.maxTokens, "tokens", raw: inputTokens)
        outcome.outputTokens = try bounded(count(outputTokens, "output_tokens"), "output_tokens", Limits.maxTokens, "tokens", raw: outputTokens)
        // Seed 002 says input_size and response_size, seed 004 bytes_sent and bytes_received.
        outcome.requestBytes = try bounded(count(requestBytes, "request_bytes", or: inputSize, "input_size", or: bytesSent, "bytes_sent"),
                                           "request_bytes", Limits.maxBytes, "bytes", raw: requestBytes ?? inputSize ?? bytesSent)
        outcome.responseBytes = try bounded(count(responseBytes, "response_bytes", or: responseSize, "response_size", or: bytesReceived, "bytes_received"),
                                            "response_bytes", Limits.maxBytes, "bytes", raw: responseBytes ?? responseSize ?? bytesReceived)
        outcome.cacheHit = try bool(cacheHit, "cache_hit")
        outcome.retryCount = try bounded(count(retryCount, "retry_count"), "retry_count", Limits.maxRetries, "retries", raw: retryCount)
        let metricName = try string(metric, "metric").flatMap { $0.isEmpty ? nil : $0 }
        let metricKind = try metricKindValue()
        // A set's member may be a string; every other value is a number.
        var memberAsText = false
        if metricKind == .set, case .string? = value { memberAsText = true }
        let metricValue = memberAsText ? nil : try bounded(number(value, "value"), "value", Limits.maxMetricMagnitude, "in magnitude", raw: value, symmetric: true)
        let unit = try label(unit, "unit")
        let metadata = try metadataValues()
        var rate = SampleRate.all
        if let sent = try number(sampleRate, "sample_rate") {
            guard let valid = SampleRate(sent) else { throw wrongType("sample_rate", "a number in (0, 1]", sampleRate ?? .null) }
            guard sent >= Limits.minSampleRate else {
                throw EventError("field 'sample_rate': \(sampleRate?.quoted ?? "") is below \(Limits.minSampleRate), the smallest rate kept (one event in a million)")
            }
            rate = valid
        }
        if let explicit = try bool(success, "success") {
            outcome.success = explicit
        } else {
            outcome.success = !((outcome.statusCode ?? 0) >= 400 || outcome.errorType != nil)
        }

        func need<T>(_ value: T?, _ field: String) throws(EventError) -> T { try Self.required(value, field, for: eventType) }
        let kind: EventKind
        switch eventType {
        case .providerRequest:
            kind = .providerCall(ProviderCall(provider: try need(provider, "provider"), model: model, requestID: requestID, outcome: outcome))
        case .providerStart:
            let provider = try need(provider, "provider")
            kind = .providerStart(ProviderStart(requestID: try need(requestID, "request_id"), provider: provider, model: model))
        case .requestStart where Self.isComponentSample(component: component, endpoint: endpoint, outcome: outcome),
             .requestEnd where Self.isComponentSample(component: component, endpoint: endpoint, outcome: outcome):
            // Seed 002's recordEvent: a start or end naming a component and carrying its duration
            // is that component × operation's sample, not a request in flight.
            kind = .operation(OperationSample(component: try need(component, "component"), operation: operation, outcome: outcome))
        case .requestStart:
            kind = .requestStart(RequestStart(requestID: try need(requestID, "request_id"), endpoint: endpoint, method: method,
                                              provider: provider, model: model, component: component, operation: operation))
        case .requestEnd:
            let match: RequestEnd.Match
            if let requestID {
                match = .started(requestID: requestID, endpoint: endpoint)
            } else if let endpoint {
                match = .endpoint(endpoint)
            } else {
                throw EventError("field 'request_id': required for request_end events (or name the 'endpoint')")
            }
            kind = .requestEnd(RequestEnd(match, method: method, provider: provider, model: model, outcome: outcome))
        case .request:
            kind = .request(EndpointCall(endpoint: try need(endpoint, "endpoint"), method: method, provider: provider, model: model, outcome: outcome))
        case .operation:
            kind = .operation(OperationSample(component: try need(component, "component"), operation: operation, outcome: outcome))
        case .cacheHit, .cacheMiss:
            let accessTime = try bounded(number(accessTimeMs, "access_time_ms", atLeast: 0), "access_time_ms", Limits.maxMilliseconds, "a day", raw: accessTimeMs)
            kind = .cache(CacheLookup(hit: eventType == .cacheHit, component: component, provider: provider, accessTimeMs: accessTime))
        case .error, .timeout:
            kind = .error(ErrorReport(timeout: eventType == .timeout, errorType: outcome.errorType, message: outcome.errorMessage,
                                      provider: provider, model: model, endpoint: endpoint, method: method,
                                      component: component, operation: operation))
        case .rateLimitHit:
            kind = .rateLimit(RateLimitHit(provider: try need(provider, "provider"), model: model))
        case .failover:
            let from = try need(provider, "provider")
            kind = .failover(Failover(from: from, to: try need(metadata["to_provider"].flatMap { $0.isEmpty ? nil : $0 }, "metadata.to_provider"),
                                      model: model))
        case .metric:
            let sample = try metricSample(name: try need(metricName, "metric"), kind: metricKind, number: metricValue, unit: unit, labelSets: decoder.labelSets)
            if let problem = decoder.catalog?.admit(sample) { throw EventError(problem) }
            kind = .metric(sample)
        case .providerUsage:
            guard let usage = ProviderUsage(provider: try need(provider, "provider"), model: model, ttftMs: outcome.ttftMs,
                                            inputTokens: outcome.inputTokens, outputTokens: outcome.outputTokens, costUSD: outcome.costUSD) else {
                throw EventError("provider_usage events need at least one of ttft_ms, input_tokens, output_tokens and cost_usd")
            }
            kind = .providerUsage(usage)
        }
        return Event(kind, at: timestamp, sampleRate: rate, metadata: metadata)
    }

    /// A `request_start` or `request_end` that is a component sample: it names a component and a
    /// duration, and no endpoint of its own.
    static func isComponentSample(component: String?, endpoint: String?, outcome: CallOutcome) -> Bool {
        component != nil && endpoint == nil && outcome.durationMs != nil
    }

    /// A custom metric name (api.md §7): letters, digits, `_`, `.` and `-`, first a letter or `_`.
    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLabelStart(first), name.utf8.count <= EventDecoder.maxLabelBytes else { return false }
        return name.utf8.allSatisfy(isMetricNameByte)
    }

    /// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLabelStart(first) else { return false }
        return name.utf8.allSatisfy(isLabelByte)
    }

    /// The bytes of names: a label name's first (`[a-zA-Z_]`) and others (`[a-zA-Z0-9_]`), and a
    /// metric name's others (those and `.`, `-`). StatsD spells its names into these too.
    static func isLabelStart(_ byte: UInt8) -> Bool { byte == 95 || (65...90).contains(byte) || (97...122).contains(byte) }
    static func isLabelByte(_ byte: UInt8) -> Bool { isLabelStart(byte) || (48...57).contains(byte) }
    static func isMetricNameByte(_ byte: UInt8) -> Bool { isLabelByte(byte) || byte == 46 || byte == 45 }

    /// `kind`, absent for an untyped metric.
    private func metricKindValue() throws(EventError) -> MetricKind {
        guard let text = try string(kind, "kind") else { return .untyped }
        // As sent first, the usual case: no lowercased copy.
        guard let parsed = MetricKind(rawValue: text) ?? MetricKind(rawValue: text.lowercased()), parsed != .untyped else {
            throw EventError("field 'kind': expected counter, gauge, histogram or set, got \"\(text)\"")
        }
        return parsed
    }

    /// A `metric` event's sample: its name, labels and what it does by kind.
    private func metricSample(name: String, kind metricKind: MetricKind, number: Double?, unit: String?,
                              labelSets: LabelSetInterner) throws(EventError) -> MetricSample {
        guard Self.isMetricName(name) else {
            throw EventError("field 'metric': expected a name matching [a-zA-Z_][a-zA-Z0-9_.-]* of at most \(EventDecoder.maxLabelBytes) bytes, got \"\(name)\"")
        }
        let isDelta = try bool(delta, "delta") ?? false
        if isDelta, metricKind != .gauge {
            throw EventError("field 'delta': only a gauge takes delta (this metric is \(metricKind == .untyped ? "untyped" : "a " + metricKind.rawValue))")
        }
        let update: MetricUpdate
        switch metricKind {
        case .set:
            switch value {
            case let .string(member)?: update = .set(member: member)
            case let .number(_, text)?: update = .set(member: text)
            default: throw EventError("field 'value': required for metric events (a set's member: a number or a string)")
            }
        case .counter:
            let increment = try need(number, "value")
            guard increment >= 0 else { throw EventError("field 'value': a counter's value is an increment, ≥ 0; got \(value?.quoted ?? "")") }
            update = .counter(increment: increment)
        case .gauge: update = isDelta ? .gaugeDelta(try need(number, "value")) : .gauge(try need(number, "value"))
        case .histogram: update = .histogram(try need(number, "value"))
        case .untyped: update = .untyped(try need(number, "value"))
        }
        return MetricSample(name: name, update, unit: unit, labels: try labelSet(labelSets))
    }

    private func need<T>(_ value: T?, _ field: String) throws(EventError) -> T { try Self.required(value, field, for: .metric) }

    /// What a kind cannot do without: `field 'provider': required for provider_request events`.
    private static func required<T>(_ value: T?, _ field: String, for type: EventType) throws(EventError) -> T {
        guard let value else { throw EventError("field '\(field)': required for \(type.rawValue) events") }
        return value
    }

    /// `labels`: at most 8, names `[a-zA-Z_][a-zA-Z0-9_]*` (not `__…`, `le`, `quantile`, `job`,
    /// `instance`), values strings of at most 128 bytes.
    /// A text read and accepted before is that label set again, without the checks.
    private func labelSet(_ known: LabelSetInterner) throws(EventError) -> MetricLabels {
        if let labelsText, let labels = known.labels(for: labelsText) { return labels }
        let labels = try checkedLabelSet()
        if let labelsText { known.remember(labels, for: labelsText) }
        return labels
    }

    private func checkedLabelSet() throws(EventError) -> MetricLabels {
        switch labels {
        case nil, .null?: return .none
        case let .object(members)?:
            guard members.count <= MetricLabels.maxCount else {
                throw EventError("field 'labels': at most \(MetricLabels.maxCount) labels, got \(members.count)")
            }
            var names: [String] = [], values: [String] = []
            names.reserveCapacity(members.count)
            values.reserveCapacity(members.count)
            for (name, member) in members {
                guard Self.isLabelName(name) else { throw EventError("field 'labels.\(name)': a label name matches [a-zA-Z_][a-zA-Z0-9_]*") }
                guard !name.hasPrefix("__") else { throw EventError("field 'labels.\(name)': label names starting with __ are reserved") }
                guard !MetricLabels.isReserved(name) else {
                    throw EventError("field 'labels.\(name)': le, quantile, job and instance are reserved label names")
                }
                guard case let .string(text) = member else { throw wrongType("labels.\(name)", "a string", member) }
                guard text.utf8.count <= MetricLabels.maxValueBytes else {
                    throw EventError("field 'labels.\(name)': longer than \(MetricLabels.maxValueBytes) bytes")
                }
                names.append(name)
                values.append(text)
            }
            return MetricLabels(names: names, values: values)
        case let other?: throw wrongType("labels", "an object of label names to strings", other)
        }
    }

    private func wrongType(_ field: String, _ expected: String, _ value: JSONValue) -> EventError {
        EventError("field '\(field)': expected \(expected), got \(value.quoted)")
    }

    private func string(_ value: JSONValue?, _ field: String) throws(EventError) -> String? {
        switch value {
        case nil, .null?: return nil
        case let .string(text)?: return text
        case let other?: throw wrongType(field, "a string", other)
        }
    }

    /// An identifier (`request_id`): a string of at most `maxLabelBytes`, refused above.
    private func identifier(_ value: JSONValue?, _ field: String) throws(EventError) -> String? {
        guard let text = try string(value, field) else { return nil }
        guard text.utf8.count <= EventDecoder.maxLabelBytes else {
            throw EventError("field '\(field)': longer than \(EventDecoder.maxLabelBytes) bytes")
        }
        return text
    }

    /// `value` when at most `maximum` (in magnitude, when `symmetric`); refused above, saying the limit.
    /// The value is quoted as sent (`raw`), the limit as written in the docs.
    private func bounded(_ value: Double?, _ field: String, _ maximum: Double, _ unit: String, raw: JSONValue?,
                         symmetric: Bool = false) throws(EventError) -> Double? {
        guard let value else { return nil }
        guard (symmetric ? abs(value) : value) <= maximum else {
            let limit = maximum >= 1e15 ? "1e15" : JSONNumber.format(maximum)
            throw EventError("field '\(field)': \(raw?.quoted ?? JSONNumber.format(value)) is more than \(limit) (\(unit)), the largest perfmond keeps")
        }
        return value
    }

    /// A label value: a string, "" meaning not set, at most `maxLabelBytes` long.
    private func label(_ value: JSONValue?, _ field: String) throws(EventError) -> String? {
        guard let text = try string(value, field), !text.isEmpty else { return nil }
        guard text.utf8.count <= EventDecoder.maxLabelBytes else {
            throw EventError("field '\(field)': longer than \(EventDecoder.maxLabelBytes) bytes")
        }
        return text
    }

    private func number(_ value: JSONValue?, _ field: String, atLeast minimum: Double? = nil) throws(EventError) -> Double? {
        switch value {
        case nil, .null?: return nil
        case let .number(value, _)? where value.isFinite && value >= (minimum ?? -.infinity): return value
        case let other?: throw wrongType(field, minimum == 0 ? "a number ≥ 0" : "a number", other)
        }
    }

    private func integer(_ value: JSONValue?, _ field: String, in range: ClosedRange<Int>) throws(EventError) -> Int? {
        switch value {
        case nil, .null?: return nil
        case let .number(number, _)? where number == number.rounded() && number >= Double(range.lowerBound) && number < 9.0e15
            && range.contains(Int(number)):
            return Int(number)
        case let other?:
            // The message is built only here: this runs for every integer field of every event.
            let expected = range.upperBound == Int.max ? "an integer ≥ \(range.lowerBound)" : "an integer from \(range.lowerBound) to \(range.upperBound)"
            throw wrongType(field, expected, other)
        }
    }

    /// A count (integer ≥ 0) under its name or, when absent, under its alias.
    /// A count ≥ 0, when the field is given.
    private func count(_ value: JSONValue?, _ field: String) throws(EventError) -> Double? {
        try integer(value, field, in: 0...Int.max).map(Double.init)
    }

    /// The first given of a field and its two aliases (seed 002's and seed 004's names). Three
    /// arguments, not a list: an array of candidates per event cost 15 % of decoding (measured).
    private func count(_ value: JSONValue?, _ field: String, or alias: JSONValue?, _ aliasName: String,
                       or other: JSONValue?, _ otherName: String) throws(EventError) -> Double? {
        if let number = try count(value, field) { return number }
        if let number = try count(alias, aliasName) { return number }
        return try count(other, otherName)
    }

    private func bool(_ value: JSONValue?, _ field: String) throws(EventError) -> Bool? {
        switch value {
        case nil, .null?: return nil
        case let .bool(value)?: return value
        case let other?: throw wrongType(field, "true or false", other)
        }
    }

    private func metadataValues() throws(EventError) -> [String: String] {
        switch metadata {
        case nil, .null?: return [:]
        case let .object(members)?:
            guard members.count <= EventLimits.maxMetadataKeys else {
                throw EventError("field 'metadata': at most \(EventLimits.maxMetadataKeys) keys, got \(members.count)")
            }
            var result: [String: String] = [:]
            for (key, value) in members {
                guard key.utf8.count <= EventLimits.maxMetadataKeyBytes else {
                    throw EventError("field 'metadata': a key longer than \(EventLimits.maxMetadataKeyBytes) bytes (\(JSONValue.string(key).quoted))")
                }
                let cut = { (text: String) in EventLimits.cut(text, to: EventLimits.maxMetadataValueBytes) }
                switch value {
                case .null: continue
                case let .string(text): result[key] = cut(text)
                case let .number(_, text): result[key] = cut(text)
                case let .bool(flag): result[key] = flag ? "true" : "false"
                case .array, .object: throw wrongType("metadata.\(key)", "a string, number or boolean", value)
                }
            }
            return result
        case let other?: throw wrongType("metadata", "an object of scalar values", other)
        }
    }

    private func time(now: Double, decoder: EventDecoder) throws(EventError) -> Double {
        let seconds: Double
        switch timestamp {
        case nil, .null?:
            return now
        case let .number(value, _)? where value.isFinite:
            seconds = value
        case let .string(text)?:
            guard let parsed = RFC3339.parse(text) else {
                throw EventError("field 'timestamp': expected Unix seconds or an RFC 3339 time, got \"\(text)\"")
            }
            seconds = parsed
        case let other?:
            throw wrongType("timestamp", "Unix seconds or an RFC 3339 time", other)
        }
        if seconds > now + decoder.maxFutureSeconds {
            let hint = seconds > now * 100 ? " (milliseconds? perfmond wants Unix seconds)" : ""
            throw EventError("field 'timestamp': \(RFC3339.format(seconds)) is more than \(Int(decoder.maxFutureSeconds)) s in the future\(hint)")
        }
        if seconds < now - decoder.maxAgeSeconds {
            throw EventError("field 'timestamp': \(RFC3339.format(seconds)) is older than the retention (\(TimeSpan(milliseconds: Int64(decoder.maxAgeSeconds * 1000))))")
        }
        return seconds
    }
}
