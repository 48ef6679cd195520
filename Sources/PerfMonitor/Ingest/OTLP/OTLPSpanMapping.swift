/// OTLP spans as exact events (api.md §6.2): a GenAI span is one provider call with its exact
/// duration, a SERVER span with `http.route` one endpoint request, and with `otlp_spans: all`
/// every other span one component (`service.name`) × operation (span name) sample — the
/// spanmetrics connector, built in.
public struct OTLPSpanMapping: Sendable {
    public let options: OTLPOptions
    public let services: GenAISpanServices
    public let maxAgeSeconds: Double

    /// Error messages keep this much of a span's status message.
    static let maxMessageBytes = 256

    public init(options: OTLPOptions, services: GenAISpanServices, maxAgeSeconds: Double) {
        self.options = options
        self.services = services
        self.maxAgeSeconds = maxAgeSeconds
    }

    public func map(_ request: OTLP.TracesRequest, now: Double) -> OTLPMapped {
        var mapped = OTLPMapped()
        mapped.refusals.add(request.refusals)
        mapped.spans.count(.rejected, request.refusals.count)
        for resource in request.resources {
            for span in resource.spans {
                do {
                    let (outcome, event) = try map(span, service: resource.serviceName, now: now)
                    if let event { mapped.events.append(event) }
                    mapped.spans.count(outcome)
                } catch {
                    mapped.refusals.add("span '\(span.name)': \(error.message)")
                    mapped.spans.count(.rejected)
                }
            }
        }
        return mapped
    }

    /// Marks the services whose GenAI spans were kept (`otlp_genai_source: auto` reads it).
    public func noteGenAIServices(_ request: OTLP.TracesRequest, now: Double) {
        for resource in request.resources where resource.spans.contains(where: \.attributes.isGenAI) {
            services.saw(resource.serviceName ?? "", at: now)
        }
    }

    struct Refusal: Error {
        let message: String
    }

    private func map(_ span: OTLP.Span, service: String?, now: Double) throws(Refusal) -> (OTLPSpanOutcome, Event?) {
        guard span.startTimeUnixNano > 0, span.endTimeUnixNano > 0 else { throw Refusal(message: "startTimeUnixNano and endTimeUnixNano must be set") }
        guard span.endTimeUnixNano >= span.startTimeUnixNano else {
            throw Refusal(message: "ends before it starts (endTimeUnixNano \(span.endTimeUnixNano) < startTimeUnixNano \(span.startTimeUnixNano))")
        }
        let end = Double(span.endTimeUnixNano) / 1e9
        guard end >= now - maxAgeSeconds, end <= now + 300 else {
            throw Refusal(message: "endTimeUnixNano \(span.endTimeUnixNano) is older than the retention or more than 5 minutes ahead")
        }
        let attributes = span.attributes
        var outcome = CallOutcome(durationMs: Double(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6)
        outcome.errorType = attributes.errorType.flatMap { $0.isEmpty ? nil : $0 }
        if let code = attributes.httpStatusCode {
            guard code == code.rounded(), (100...599).contains(code) else { throw Refusal(message: "http.response.status_code \(code) is not an HTTP status") }
            outcome.statusCode = Int(code)
        }
        let failed = span.statusCode == 2 || outcome.errorType != nil || (outcome.statusCode ?? 0) >= 400
        outcome.success = !failed
        if failed, !span.statusMessage.isEmpty { outcome.errorMessage = String(decoding: span.statusMessage.utf8.prefix(Self.maxMessageBytes), as: UTF8.self) }

        if attributes.isGenAI {
            guard options.spans.contains(.genai), options.genAISource != .metrics else { return other(span, service, outcome, at: end) }
            for tokens in [attributes.inputTokens, attributes.outputTokens] {
                if let tokens, !(tokens >= 0 && tokens.isFinite) { throw Refusal(message: "a token count of \(tokens), below 0") }
            }
            outcome.inputTokens = attributes.inputTokens
            outcome.outputTokens = attributes.outputTokens
            let provider = [attributes.providerName, attributes.system].compactMap { $0 }.first { !$0.isEmpty } ?? "unknown"
            let model = [attributes.responseModel, attributes.requestModel].compactMap { $0 }.first { !$0.isEmpty }
            return (.providerCall, Event(.providerCall(ProviderCall(provider: provider, model: model, outcome: outcome)), at: end))
        }
        if span.kind == OTLP.SpanKind.server.rawValue, let route = attributes.httpRoute, !route.isEmpty, options.spans.contains(.server) {
            let call = EndpointCall(endpoint: route, method: attributes.httpMethod, outcome: outcome)
            return (.endpointRequest, Event(.request(call), at: end))
        }
        return other(span, service, outcome, at: end)
    }

    /// A span no other rule took: an operation sample under `otlp_spans: all`, else ignored.
    private func other(_ span: OTLP.Span, _ service: String?, _ outcome: CallOutcome, at end: Double) -> (OTLPSpanOutcome, Event?) {
        guard options.spans.contains(.other) else { return (.ignored, nil) }
        let sample = OperationSample(component: service ?? "unknown_service", operation: span.name.isEmpty ? nil : span.name, outcome: outcome)
        return (.operation, Event(.operation(sample), at: end))
    }
}

extension OTLP.SpanAttributes {
    /// A span is GenAI when it names a GenAI operation or provider, whatever its kind.
    public var isGenAI: Bool { operationName != nil || providerName != nil || system != nil }
}
