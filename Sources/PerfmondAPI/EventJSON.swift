import PerfJSON
import PerfMonitor

extension Event {
    /// The event as `/performance/events` shows it: the fields its kind carries that are set, in
    /// one order for every kind. `success` is shown on every event: a kind without an outcome
    /// shows `true`, an error report `false` when it names its error type.
    public var json: JSONValue {
        var labels = RawLabels()
        let outcome = kind.outcome
        var success = true
        var metric: MetricSample?
        switch kind {
        case let .providerCall(call):
            (labels.requestID, labels.provider, labels.model) = (call.requestID, call.provider, call.model)
        case let .providerStart(start):
            (labels.requestID, labels.provider, labels.model) = (start.requestID, start.provider, start.model)
        case let .requestStart(start):
            (labels.requestID, labels.provider, labels.model, labels.endpoint, labels.method) =
                (start.requestID, start.provider, start.model, start.endpoint, start.method)
        case let .requestEnd(end):
            (labels.requestID, labels.provider, labels.model, labels.endpoint, labels.method) =
                (end.requestID, end.provider, end.model, end.endpoint, end.method)
        case let .request(call):
            (labels.provider, labels.model, labels.endpoint, labels.method) = (call.provider, call.model, call.endpoint, call.method)
        case let .operation(sample):
            (labels.component, labels.operation) = (sample.component, sample.operation)
        case let .cache(lookup):
            (labels.component, labels.provider) = (lookup.component, lookup.provider)
        case let .error(report):
            (labels.provider, labels.model, labels.endpoint, labels.method, labels.component, labels.operation) =
                (report.provider, report.model, report.endpoint, report.method, report.component, report.operation)
            (labels.errorType, labels.errorMessage) = (report.errorType, report.message)
            success = report.errorType == nil
        case let .rateLimit(hit):
            (labels.provider, labels.model) = (hit.provider, hit.model)
        case let .failover(failover):
            (labels.provider, labels.model) = (failover.from, failover.model)
        case let .metric(sample):
            metric = sample
        case let .providerUsage(usage):
            (labels.provider, labels.model) = (usage.provider, usage.model)
        }
        if let outcome {
            (labels.errorType, labels.errorMessage, success) = (outcome.errorType, outcome.errorMessage, outcome.success)
        }
        var members: [(String, JSONValue)] = [("type", .string(type.rawValue)), ("timestamp", .double(timestamp))]
        let named: [(String, String?)] = [("request_id", labels.requestID), ("provider", labels.provider), ("model", labels.model),
                                          ("endpoint", labels.endpoint), ("method", labels.method), ("component", labels.component),
                                          ("operation", labels.operation), ("error_type", labels.errorType), ("error", labels.errorMessage),
                                          ("metric", metric?.name), ("unit", metric?.unit)]
        for (name, value) in named { if let value { members.append((name, .string(value))) } }
        let usage: ProviderUsage? = if case let .providerUsage(usage) = kind { usage } else { nil }
        let numbers: [(String, Double?)] = [("duration_ms", outcome?.durationMs), ("ttft_ms", outcome?.ttftMs ?? usage?.ttftMs),
                                            ("cost_usd", outcome?.costUSD ?? usage?.costUSD),
                                            ("input_tokens", outcome?.inputTokens ?? usage?.inputTokens),
                                            ("output_tokens", outcome?.outputTokens ?? usage?.outputTokens),
                                            ("request_bytes", outcome?.requestBytes), ("response_bytes", outcome?.responseBytes),
                                            ("retry_count", outcome?.retryCount), ("value", metric?.update.number)]
        for (name, value) in numbers { if let value { members.append((name, .double(value))) } }
        if let metric {
            if case let .set(member) = metric.update { members.append(("value", .string(member))) }
            if metric.kind != .untyped { members.append(("kind", .string(metric.kind.rawValue))) }
            if case .gaugeDelta = metric.update { members.append(("delta", .bool(true))) }
            if case let .batch(batch) = metric.update { members.append(("batched_values", .int(batch.values))) }
            if !metric.labels.isEmpty { members.append(("labels", .object(metric.labels.pairs.map { ($0.0, JSONValue.string($0.1)) }))) }
        }
        if let statusCode = outcome?.statusCode { members.append(("status_code", .int(statusCode))) }
        if let cacheHit = outcome?.cacheHit { members.append(("cache_hit", .bool(cacheHit))) }
        members.append(("success", .bool(success)))
        if sampleRate != .all { members.append(("sample_rate", .double(sampleRate.value))) }
        if !metadata.isEmpty { members.append(("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        return .object(members)
    }
}

/// The labels a raw event shows, gathered from whichever kind it is.
private struct RawLabels {
    var requestID, provider, model, endpoint, method, component, operation, errorType, errorMessage: String?
}
