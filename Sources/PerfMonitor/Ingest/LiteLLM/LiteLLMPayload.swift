import PerfJSON

/// The members of one LiteLLM "standard logging payload" that perfmond reads (api.md §6.1), as
/// they were sent; `null` and `""` are absent. Everything else in the payload — the prompt, the
/// response, the cost breakdown — is skipped by the reader and never held.
struct LiteLLMPayload {
    var customLLMProvider: String?
    var model: String?
    var modelGroup: String?
    var startTime: Double?
    var endTime: Double?
    var completionStartTime: Double?
    var stream: Bool?
    var status: String?
    var responseCost: Double?
    var promptTokens: Double?
    var completionTokens: Double?
    var cacheHit: Bool?
    var litellmCallID: String?
    var id: String?
    var apiBase: String?
    var callType: String?
    var errorCode: String?
    var errorClass: String?
    var errorMessage: String?
    var errorProvider: String?
    var remainingRequests: Double?
    var remainingTokens: Double?
    /// The first member whose type was wrong: the payload is refused with it.
    var problem: String?

    /// Where a member sits: the payload itself, `error_information`, or `hidden_params.additional_headers`.
    enum Place {
        case payload, errorInformation, additionalHeaders
    }

    /// Whether `key` in `place` is read (its value decoded); the rest is skipped.
    static func reads(_ key: String, in place: Place) -> Bool {
        switch place {
        case .payload: payloadMembers.contains(key)
        case .errorInformation: key == "error_code" || key == "error_class" || key == "error_message" || key == "llm_provider"
        case .additionalHeaders: key == "x_ratelimit_remaining_requests" || key == "x_ratelimit_remaining_tokens"
        }
    }

    private static let payloadMembers: Set<String> = [
        "custom_llm_provider", "model", "model_group", "startTime", "endTime", "completionStartTime", "stream", "status",
        "response_cost", "prompt_tokens", "completion_tokens", "cache_hit", "litellm_call_id", "id", "api_base", "call_type",
    ]

    /// Keeps one member's value (nil: a container where a scalar belongs).
    mutating func take(_ key: String, _ value: JSONValue?, in place: Place) {
        switch place {
        case .payload:
            switch key {
            case "custom_llm_provider": customLLMProvider = text(key, value)
            case "model": model = text(key, value)
            case "model_group": modelGroup = text(key, value)
            case "startTime": startTime = time(key, value)
            case "endTime": endTime = time(key, value)
            case "completionStartTime": completionStartTime = time(key, value)
            case "stream": stream = flag(key, value)
            case "status": status = text(key, value)
            case "response_cost": responseCost = number(key, value)
            case "prompt_tokens": promptTokens = number(key, value)
            case "completion_tokens": completionTokens = number(key, value)
            case "cache_hit": cacheHit = flag(key, value)
            case "litellm_call_id": litellmCallID = text(key, value)
            case "id": id = text(key, value)
            case "api_base": apiBase = text(key, value)
            case "call_type": callType = text(key, value)
            default: break
            }
        case .errorInformation:
            switch key {
            // LiteLLM sends the code as a string ("429"); an integer is read the same way.
            case "error_code": errorCode = value.flatMap { if case let .number(_, text) = $0 { text } else { nil } } ?? text("error_information.error_code", value)
            case "error_class": errorClass = text("error_information.error_class", value)
            case "error_message": errorMessage = text("error_information.error_message", value)
            case "llm_provider": errorProvider = text("error_information.llm_provider", value)
            default: break
            }
        case .additionalHeaders:
            let remaining = number("hidden_params.additional_headers." + key, value, allowingText: true)
            if key == "x_ratelimit_remaining_requests" { remainingRequests = remaining } else { remainingTokens = remaining }
        }
    }

    private mutating func text(_ key: String, _ value: JSONValue?) -> String? {
        switch value {
        case .null?: return nil
        case let .string(text)?: return text.isEmpty ? nil : text
        case let other: return wrong(key, "a string", other)
        }
    }

    private mutating func number(_ key: String, _ value: JSONValue?, allowingText: Bool = false) -> Double? {
        switch value {
        case .null?: return nil
        case let .number(number, _)?: return number
        case let .string(text)? where allowingText: return text.isEmpty ? nil : Double(text) ?? wrong(key, "a number", value)
        case let other: return wrong(key, "a number", other)
        }
    }

    /// Epoch seconds (LiteLLM's floats), or an RFC 3339 time.
    private mutating func time(_ key: String, _ value: JSONValue?) -> Double? {
        switch value {
        case .null?: return nil
        case let .number(number, _)?: return number
        case let .string(text)?: return RFC3339.parse(text) ?? wrong(key, "epoch seconds or an RFC 3339 time", value)
        case let other: return wrong(key, "epoch seconds", other)
        }
    }

    private mutating func flag(_ key: String, _ value: JSONValue?) -> Bool? {
        switch value {
        case .null?: return nil
        case let .bool(flag)?: return flag
        case let other: return wrong(key, "true, false or null", other)
        }
    }

    private mutating func wrong<T>(_ key: String, _ expected: String, _ value: JSONValue?) -> T? {
        if problem == nil { problem = "member '\(key)': expected \(expected), got \(value?.quoted ?? "an object or array")" }
        return nil
    }
}
