import PerfJSON
import PerfMonitor

/// An event as a test writes it, field by field in the API's terms, and built the way a client's
/// would be: rendered as its JSON object and decoded by the real decoder into its typed kind.
struct TestEvent {
    var type: EventType
    var timestamp: Double
    var requestID, provider, model, endpoint, method, component, operation: String?
    var durationMs, ttftMs, costUSD, inputTokens, outputTokens, requestBytes, responseBytes, retryCount: Double?
    var cacheHit: Bool?
    var statusCode: Int?
    var errorType, errorMessage: String?
    /// Nil: as the decoder sets it, from the status code and the error type.
    var success: Bool?
    var metric, unit: String?
    var value: Double?
    var sampleRate: Double?
    var metadata: [String: String] = [:]
    /// A custom metric's kind, labels, gauge delta and set member (a string value).
    var kind: String?
    var labels: [String: String] = [:]
    var delta: Bool?
    var member: String?

    var json: JSONValue {
        var members: [(String, JSONValue)] = [("type", .string(type.rawValue)), ("timestamp", .double(timestamp))]
        let strings: [(String, String?)] = [("request_id", requestID), ("provider", provider), ("model", model), ("endpoint", endpoint),
                                            ("method", method), ("component", component), ("operation", operation),
                                            ("error_type", errorType), ("error", errorMessage), ("metric", metric), ("unit", unit)]
        for case let (name, value?) in strings { members.append((name, .string(value))) }
        let numbers: [(String, Double?)] = [("duration_ms", durationMs), ("ttft_ms", ttftMs), ("cost_usd", costUSD),
                                            ("input_tokens", inputTokens), ("output_tokens", outputTokens), ("request_bytes", requestBytes),
                                            ("response_bytes", responseBytes), ("value", value), ("sample_rate", sampleRate),
                                            ("retry_count", retryCount)]
        for case let (name, value?) in numbers { members.append((name, .double(value))) }
        if let statusCode { members.append(("status_code", .int(statusCode))) }
        if let success { members.append(("success", .bool(success))) }
        if let cacheHit { members.append(("cache_hit", .bool(cacheHit))) }
        if !metadata.isEmpty { members.append(("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        if let kind { members.append(("kind", .string(kind))) }
        if !labels.isEmpty { members.append(("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        if let delta { members.append(("delta", .bool(delta))) }
        if let member { members.append(("value", .string(member))) }
        return .object(members)
    }
}

/// Decodes at the event's own time, with no age limit: a test's events may be of any time.
private let testDecoder = EventDecoder(maxAgeSeconds: .infinity)

func event(_ type: EventType, at timestamp: Double, _ configure: (inout TestEvent) -> Void = { _ in }) -> Event {
    var fields = TestEvent(type: type, timestamp: timestamp)
    configure(&fields)
    switch testDecoder.event(from: fields.json, now: timestamp) {
    case let .success(event): return event
    case let .failure(error): fatalError("a test built an event the decoder refuses: \(error.message) in \(fields.json.rendered)")
    }
}

func providerCall(_ provider: String = "openai", _ model: String = "gpt-4o", at timestamp: Double, ms: Double = 100,
                  _ configure: (inout TestEvent) -> Void = { _ in }) -> Event {
    event(.providerRequest, at: timestamp) { event in
        event.provider = provider
        event.model = model
        event.durationMs = ms
        configure(&event)
    }
}
