import PerfJSON

#if canImport(Glibc)
import Glibc
#endif
/// The outcome of decoding one `POST /events` body: the valid events, one error per invalid one,
/// or a syntax error that spoils the whole body.
public struct DecodedBatch: Sendable {
    public var events: [Event] = []
    public var errors: [(index: Int, message: String)] = []
    /// Set when the body is not JSON at all (nothing of it is kept).
    public var syntaxError: JSONSyntaxError?

    public init() {}
}

/// Turns request bodies into validated events, by the field table of api.md §1.
public struct EventDecoder: Sendable {
    /// The body forms: one object or an array (`application/json`), or one object per line (NDJSON).
    public enum BodyForm: Sendable {
        case json, ndjson
    }

    /// Events older than this many seconds before `now` are refused (outside the retention).
    public var maxAgeSeconds: Double
    /// Events stamped more than this after `now` are refused.
    public var maxFutureSeconds: Double = 300
    /// Label values (provider, model, endpoint…) longer than this are refused.
    public static let maxLabelBytes = 256

    public init(maxAgeSeconds: Double) {
        self.maxAgeSeconds = maxAgeSeconds
    }

    public func decode(_ body: [UInt8], form: BodyForm, now: Double) -> DecodedBatch {
        body.withUnsafeBufferPointer { decode($0, form: form, now: now) }
    }

    public func decode(_ body: UnsafeBufferPointer<UInt8>, form: BodyForm, now: Double) -> DecodedBatch {
        var batch = DecodedBatch()
        let add = { (batch: inout DecodedBatch, index: Int, value: JSONValue) in
            switch self.event(from: value, now: now) {
            case let .success(event): batch.events.append(event)
            case let .failure(error): batch.errors.append((index, error.message))
            }
        }
        switch form {
        case .ndjson:
            var lineStart = 0, line = 0
            while lineStart < body.count {
                var lineEnd = lineStart
                while lineEnd < body.count, body[lineEnd] != 0x0A { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart, body[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let blank = (lineStart..<contentEnd).allSatisfy { [0x20, 0x09].contains(body[$0]) }
                if !blank {
                    do {
                        var fields = EventFields()
                        if let value = try JSONParser.parse(body, range: lineStart..<contentEnd, visitingObject: { fields.take($0, $1) }) {
                            add(&batch, line, value)
                        } else {
                            record(&batch, line, fields, now: now)
                        }
                    } catch {
                        batch.errors.append((line, "invalid JSON at byte \(error.offset - lineStart) of the line: \(error.message)"))
                    }
                }
                lineStart = lineEnd + 1
                line += 1
            }
        case .json:
            var firstByte: UInt8?
            for byte in body where ![0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                firstByte = byte
                break
            }
            guard let firstByte else { return batch }
            do {
                if firstByte == UInt8(ascii: "[") {
                    var fields = EventFields()
                    try JSONParser.forEachElement(ofArrayIn: body, object: { fields.take($0, $1) }, objectDone: { index in
                        record(&batch, index, fields, now: now)
                        fields = EventFields()
                    }, other: { index, value in add(&batch, index, value) })
                } else {
                    var fields = EventFields()
                    if try JSONParser.parse(body, visitingObject: { fields.take($0, $1) }) != nil {
                        batch.syntaxError = JSONSyntaxError(offset: 0, message: "expected an event object or an array of event objects")
                        return batch
                    }
                    record(&batch, 0, fields, now: now)
                }
            } catch {
                return DecodedBatch(syntaxError: error)
            }
        }
        return batch
    }

    /// Validates the fields read from one event object and keeps the event or its error.
    private func record(_ batch: inout DecodedBatch, _ index: Int, _ fields: EventFields, now: Double) {
        do {
            batch.events.append(try fields.event(now: now, decoder: self))
        } catch {
            batch.errors.append((index, error.message))
        }
    }

    /// One event from its JSON object, or the first thing wrong with it.
    public func event(from value: JSONValue, now: Double) -> Result<Event, EventError> {
        guard case let .object(members) = value else {
            return .failure(EventError("expected an event object, got \(value.quoted)"))
        }
        do {
            return .success(try EventFields(members: members).event(now: now, decoder: self))
        } catch {
            return .failure(error)
        }
    }
}

extension DecodedBatch {
    init(syntaxError: JSONSyntaxError) {
        self.init()
        self.syntaxError = syntaxError
    }
}

/// Why one event was refused, worded for the client (`field 'duration_ms': expected …`).
public struct EventError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

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
    var inputSize: JSONValue?
    var responseBytes: JSONValue?
    var responseSize: JSONValue?
    var metric: JSONValue?
    var value: JSONValue?
    var unit: JSONValue?
    var metadata: JSONValue?
    var sampleRate: JSONValue?
    var success: JSONValue?

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
    mutating func take(_ key: UnsafeBufferPointer<UInt8>, _ member: JSONValue) {
        func keep(_ slot: inout JSONValue?) { if slot == nil { slot = member } }
        func `is`(_ name: StaticString) -> Bool {
            memcmp(key.baseAddress!, name.utf8Start, key.count) == 0
        }
        guard key.count >= 4 else { return }
        switch key.count {
        case 4:
            if `is`("type") { keep(&type) } else if `is`("cost") { keep(&cost) } else if `is`("unit") { keep(&unit) }
        case 5:
            if `is`("model") { keep(&model) } else if `is`("error") { keep(&error) } else if `is`("value") { keep(&value) }
        case 6:
            if `is`("method") { keep(&method) } else if `is`("metric") { keep(&metric) }
        case 7:
            if `is`("ttft_ms") { keep(&ttftMs) } else if `is`("success") { keep(&success) }
        case 8:
            if `is`("provider") { keep(&provider) } else if `is`("endpoint") { keep(&endpoint) }
            else if `is`("cost_usd") { keep(&costUsd) } else if `is`("metadata") { keep(&metadata) }
        case 9:
            if `is`("timestamp") { keep(&timestamp) } else if `is`("component") { keep(&component) }
            else if `is`("operation") { keep(&operation) }
        case 10:
            if `is`("request_id") { keep(&requestId) } else if `is`("error_type") { keep(&errorType) }
            else if `is`("input_size") { keep(&inputSize) }
        case 11:
            if `is`("duration_ms") { keep(&durationMs) } else if `is`("status_code") { keep(&statusCode) }
            else if `is`("sample_rate") { keep(&sampleRate) }
        case 12:
            if `is`("input_tokens") { keep(&inputTokens) }
        case 13:
            if `is`("output_tokens") { keep(&outputTokens) } else if `is`("request_bytes") { keep(&requestBytes) }
            else if `is`("response_size") { keep(&responseSize) }
        case 14:
            if `is`("response_bytes") { keep(&responseBytes) }
        default:
            break
        }
    }

    func event(now: Double, decoder: EventDecoder) throws(EventError) -> Event {
        guard let typeName = try string(type, "type") else { throw EventError("field 'type': required") }
        guard let eventType = EventType(name: typeName) else {
            throw EventError("field 'type': unknown event type \"\(typeName)\"; expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var event = Event(type: eventType, timestamp: try time(now: now, decoder: decoder))
        event.requestID = try string(requestId, "request_id")
        event.provider = try label(provider, "provider")
        event.model = try label(model, "model")
        event.endpoint = try label(endpoint, "endpoint")
        event.method = try label(method, "method")?.uppercased()
        event.component = try label(component, "component")
        event.operation = try label(operation, "operation")
        event.durationMs = try number(durationMs, "duration_ms", atLeast: 0)
        event.ttftMs = try number(ttftMs, "ttft_ms", atLeast: 0)
        event.statusCode = try integer(statusCode, "status_code", in: 100...599)
        event.errorType = try label(errorType, "error_type")
        event.errorMessage = try string(error, "error").flatMap { $0.isEmpty ? nil : $0 }
        event.costUSD = try number(costUsd, "cost_usd", atLeast: 0)
        if event.costUSD == nil { event.costUSD = try number(cost, "cost", atLeast: 0) }
        event.inputTokens = try count(inputTokens, "input_tokens")
        event.outputTokens = try count(outputTokens, "output_tokens")
        event.requestBytes = try count(requestBytes, "request_bytes", alias: inputSize, "input_size")
        event.responseBytes = try count(responseBytes, "response_bytes", alias: responseSize, "response_size")
        event.metric = try string(metric, "metric").flatMap { $0.isEmpty ? nil : $0 }
        event.value = try number(value, "value")
        event.unit = try label(unit, "unit")
        event.metadata = try metadataValues()
        if let rate = try number(sampleRate, "sample_rate") {
            guard rate > 0, rate <= 1 else { throw EventError("field 'sample_rate': expected a number in (0, 1], got \(sampleRate!.quoted)") }
            event.sampleRate = rate
        }
        if let explicit = try bool(success, "success") {
            event.success = explicit
        } else {
            event.success = !((event.statusCode ?? 0) >= 400 || event.errorType != nil)
        }
        try requireFields(of: event)
        return event
    }

    /// What each type cannot do without (api.md §1: what it updates decides what it needs).
    private func requireFields(of event: Event) throws(EventError) {
        func need(_ value: String?, _ field: String) throws(EventError) {
            if value == nil { throw EventError("field '\(field)': required for \(event.type.rawValue) events") }
        }
        switch event.type {
        case .providerRequest, .rateLimitHit:
            try need(event.provider, "provider")
        case .providerStart:
            try need(event.provider, "provider")
            try need(event.requestID, "request_id")
        case .requestStart:
            try need(event.requestID, "request_id")
        case .requestEnd:
            if event.requestID == nil && event.endpoint == nil {
                throw EventError("field 'request_id': required for request_end events (or name the 'endpoint')")
            }
        case .request:
            try need(event.endpoint, "endpoint")
        case .operation:
            try need(event.component, "component")
        case .failover:
            try need(event.provider, "provider")
            try need(event.metadata["to_provider"].flatMap { $0.isEmpty ? nil : $0 }, "metadata.to_provider")
        case .metric:
            try need(event.metric, "metric")
            guard let name = event.metric, Self.isMetricName(name) else {
                throw EventError("field 'metric': expected a name matching [a-zA-Z_][a-zA-Z0-9_]*, got \"\(event.metric ?? "")\"")
            }
            if event.value == nil { throw EventError("field 'value': required for metric events") }
        case .cacheHit, .cacheMiss, .error, .timeout:
            break
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == 95 || (65...90).contains(first) || (97...122).contains(first) else { return false }
        return name.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
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
    private func count(_ value: JSONValue?, _ field: String, alias: JSONValue? = nil, _ aliasName: String = "") throws(EventError) -> Double? {
        if let number = try integer(value, field, in: 0...Int.max) { return Double(number) }
        return try integer(alias, aliasName, in: 0...Int.max).map(Double.init)
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
            var result: [String: String] = [:]
            for (key, value) in members {
                switch value {
                case .null: continue
                case let .string(text): result[key] = text
                case let .number(_, text): result[key] = text
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
