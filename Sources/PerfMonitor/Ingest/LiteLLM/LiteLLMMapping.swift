import PerfJSON

/// Turns one LiteLLM payload into perfmond's typed events by the table of api.md §6.1: a provider
/// call (unless the answer came from LiteLLM's cache), a cache lookup when the payload says
/// whether the cache answered, and a rate-limit hit for a provider's 429. The events are built
/// through `EventFields`, so that they meet every limit a `POST /events` event meets.
public struct LiteLLMMapping: Sendable {
    /// Which payload member names the model.
    public enum ModelField: String, Sendable, CaseIterable {
        case model
        case modelGroup = "model_group"
    }

    public var modelField: ModelField
    /// The cache scope LiteLLM's own cache counts in.
    public static let cacheScope = "litellm"

    public init(modelField: ModelField = .model) {
        self.modelField = modelField
    }

    func events(from payload: LiteLLMPayload, now: Double, decoder: EventDecoder) throws(EventError) -> [Event] {
        if let problem = payload.problem { throw EventError(problem) }
        guard let model = modelField == .model ? payload.model : payload.modelGroup ?? payload.model else {
            throw EventError("member '\(modelField.rawValue)': required (the model the call went to)")
        }
        guard let start = payload.startTime else { throw EventError("member 'startTime': required") }
        guard let end = payload.endTime else { throw EventError("member 'endTime': required") }
        guard end >= start else { throw EventError("member 'endTime': \(end) is before 'startTime' (\(start))") }
        let provider = payload.customLLMProvider ?? payload.errorProvider ?? Self.prefix(of: model) ?? "unknown"
        let success = payload.status.map { $0 == "success" } ?? (payload.errorClass == nil)
        let statusCode = payload.errorCode.flatMap { Int($0) }.flatMap { (100...599).contains($0) ? $0 : nil } ?? (success ? 200 : nil)

        var fields = EventFields()
        fields.timestamp = .number(end, text: "")
        fields.provider = .string(provider)
        fields.model = .string(model)
        var metadata: [(String, JSONValue)] = []
        if let group = payload.modelGroup, modelField == .model { metadata.append(("model_group", .string(group))) }
        if let base = payload.apiBase { metadata.append(("api_base", .string(base))) }
        if let callType = payload.callType { metadata.append(("call_type", .string(callType))) }
        if !metadata.isEmpty { fields.metadata = .object(metadata) }

        var events: [Event] = []
        if let hit = payload.cacheHit {
            var lookup = fields
            lookup.type = .string(hit ? EventType.cacheHit.rawValue : EventType.cacheMiss.rawValue)
            lookup.component = .string(Self.cacheScope)
            events.append(try lookup.event(now: now, decoder: decoder))
            // A cached answer says nothing of the provider's latency: it is not a provider call.
            if hit { return events }
        }
        var call = fields
        call.type = .string(EventType.providerRequest.rawValue)
        call.durationMs = .number((end - start) * 1000, text: "")
        if payload.stream == true, let first = payload.completionStartTime, first >= start {
            call.ttftMs = .number((first - start) * 1000, text: "")
        }
        call.success = .bool(success)
        if let statusCode { call.statusCode = .number(Double(statusCode), text: String(statusCode)) }
        if let errorClass = payload.errorClass { call.errorType = .string(errorClass) }
        if let message = payload.errorMessage { call.error = .string(EventLimits.cut(message, to: Self.maxMessageBytes)) }
        if let cost = payload.responseCost { call.costUsd = .number(cost, text: "") }
        if let tokens = payload.promptTokens { call.inputTokens = .number(tokens, text: "") }
        if let tokens = payload.completionTokens { call.outputTokens = .number(tokens, text: "") }
        if let id = payload.litellmCallID ?? payload.id { call.requestId = .string(id) }
        var event = try call.event(now: now, decoder: decoder)
        if case var .providerCall(providerCall) = event.kind, payload.remainingRequests != nil || payload.remainingTokens != nil {
            for (name, remaining) in [("requests", payload.remainingRequests), ("tokens", payload.remainingTokens)] {
                if let remaining, !(0...EventLimits.maxTokens).contains(remaining) {
                    throw EventError("member 'hidden_params.additional_headers.x_ratelimit_remaining_\(name)': \(remaining) is outside 0…\(Int(EventLimits.maxTokens))")
                }
            }
            providerCall.rateLimitRemaining = RateLimitRemaining(requests: payload.remainingRequests, tokens: payload.remainingTokens, at: end)
            event.kind = .providerCall(providerCall)
        }
        events.append(event)
        if statusCode == 429 {
            var hit = fields
            hit.type = .string(EventType.rateLimitHit.rawValue)
            events.append(try hit.event(now: now, decoder: decoder))
        }
        return events
    }

    /// `error_information.error_message` keeps its first 256 bytes.
    static let maxMessageBytes = 256

    /// The provider a model name carries (`anthropic/claude-…`), if any.
    static func prefix(of model: String) -> String? {
        guard let slash = model.firstIndex(of: "/"), slash > model.startIndex else { return nil }
        return String(model[..<slash])
    }
}
