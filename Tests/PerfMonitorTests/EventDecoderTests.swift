import PerfJSON
import PerfMonitor
import Testing

let now = 1_800_000_000.0
let decoder = EventDecoder(maxAgeSeconds: 86_400)

func decodeOne(_ json: String) -> Result<Event, EventError> {
    let batch = decoder.decode(Array(json.utf8), form: .json, now: now)
    if let event = batch.events.first { return .success(event) }
    return .failure(EventError(batch.errors.first?.message ?? batch.syntaxError?.message ?? "nothing"))
}

func errorOf(_ json: String) -> String? {
    if case let .failure(error) = decodeOne(json) { return error.message }
    return nil
}

/// The endpoint of a `request` event.
func endpoint(_ event: Event) -> String? {
    if case let .request(call) = event.kind { call.endpoint } else { nil }
}

@Suite struct EventDecoderTests {
    @Test func readsEveryField() throws {
        let event = try decodeOne(#"""
            {"type": "PROVIDER_REQUEST", "timestamp": 1799999990.5, "request_id": "r1", "provider": "openai",
             "model": "gpt-4o", "endpoint": "/v1/chat", "method": "post", "component": "router", "operation": "route",
             "duration_ms": 812.5, "ttft_ms": 140, "status_code": 200, "error_type": "", "error": "",
             "cost": 0.0125, "input_tokens": 1200, "output_tokens": 300, "input_size": 2048, "response_size": 4096,
             "unit": "ms", "sample_rate": 0.5, "metadata": {"region": "eu"}, "unknown_field": [1, {"x": 2}]}
            """#).get()
        #expect(event.timestamp == 1_799_999_990.5)
        let outcome = CallOutcome(success: true, statusCode: 200, durationMs: 812.5, ttftMs: 140, costUSD: 0.0125,
                                  inputTokens: 1200, outputTokens: 300, requestBytes: 2048, responseBytes: 4096)
        #expect(event.kind == .providerCall(ProviderCall(provider: "openai", model: "gpt-4o", requestID: "r1", outcome: outcome)),
                "empty strings are not set; a provider call carries no endpoint, component or unit")
        #expect(event.sampleRate.value == 0.5)
        #expect(event.weight == 2)
        #expect(event.metadata == ["region": "eu"])
    }

    /// Each kind carries what it has, and only that (api.md §1).
    @Test(arguments: [
        (#"{"type": "provider_start", "request_id": "p1", "provider": "openai", "model": "m", "endpoint": "/x"}"#,
         EventKind.providerStart(ProviderStart(requestID: "p1", provider: "openai", model: "m"))),
        (#"{"type": "request_start", "request_id": "r1", "endpoint": "/v1", "method": "get", "provider": "openai"}"#,
         .requestStart(RequestStart(requestID: "r1", endpoint: "/v1", method: "GET", provider: "openai"))),
        (#"{"type": "request_end", "request_id": "r1", "status_code": 503}"#,
         .requestEnd(RequestEnd(.started(requestID: "r1", endpoint: nil), outcome: CallOutcome(success: false, statusCode: 503)))),
        (#"{"type": "request_end", "endpoint": "/v1", "duration_ms": 5}"#,
         .requestEnd(RequestEnd(.endpoint("/v1"), outcome: CallOutcome(durationMs: 5)))),
        (#"{"type": "request", "endpoint": "/v1", "method": "post", "cost_usd": 1}"#,
         .request(EndpointCall(endpoint: "/v1", method: "POST", outcome: CallOutcome(costUSD: 1)))),
        (#"{"type": "operation", "component": "router", "duration_ms": 2, "provider": "p"}"#,
         .operation(OperationSample(component: "router", outcome: CallOutcome(durationMs: 2)))),
        (#"{"type": "cache_miss", "provider": "openai", "duration_ms": 2}"#,
         .cache(CacheLookup(hit: false, provider: "openai"))),
        (#"{"type": "timeout", "endpoint": "/v1", "error": "slow"}"#,
         .error(ErrorReport(timeout: true, message: "slow", endpoint: "/v1"))),
        (#"{"type": "error", "error_type": "disk_full", "component": "store", "status_code": 500}"#,
         .error(ErrorReport(errorType: "disk_full", component: "store"))),
        (#"{"type": "rate_limit_hit", "provider": "openai", "model": "m"}"#,
         .rateLimit(RateLimitHit(provider: "openai", model: "m"))),
        (#"{"type": "failover", "provider": "openai", "metadata": {"to_provider": "anthropic"}}"#,
         .failover(Failover(from: "openai", to: "anthropic"))),
        (#"{"type": "metric", "metric": "queue_depth", "value": 7, "unit": "items", "provider": "p"}"#,
         .metric(MetricSample(name: "queue_depth", .untyped(7), unit: "items"))),
    ])
    func eachKindCarriesWhatItHas(json: String, kind: EventKind) throws {
        #expect(try decodeOne(json).get().kind == kind)
    }

    @Test(arguments: [
        (#"{"type": "request", "endpoint": "/a"}"#, true),
        (#"{"type": "request", "endpoint": "/a", "status_code": 399}"#, true),
        (#"{"type": "request", "endpoint": "/a", "status_code": 400}"#, false),
        (#"{"type": "request", "endpoint": "/a", "status_code": 503}"#, false),
        (#"{"type": "request", "endpoint": "/a", "error_type": "timeout"}"#, false),
        (#"{"type": "request", "endpoint": "/a", "error_type": ""}"#, true),
        (#"{"type": "request", "endpoint": "/a", "status_code": 500, "success": true}"#, true),
        (#"{"type": "request", "endpoint": "/a", "success": false}"#, false),
    ])
    func successDefaultsFromStatusAndErrorType(json: String, success: Bool) throws {
        #expect(try decodeOne(json).get().kind.outcome?.success == success)
    }

    @Test func timestampsAsSecondsOrRFC3339DefaultingToNow() throws {
        #expect(try decodeOne(#"{"type": "request", "endpoint": "/a"}"#).get().timestamp == now)
        #expect(try decodeOne(#"{"type": "request", "endpoint": "/a", "timestamp": "2027-01-15T08:00:00Z"}"#).get().timestamp == now)
        #expect(RFC3339.parse("2027-01-15T08:00:00.250+01:00") == now - 3600 + 0.25)
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2026-02-29T00:00:00Z") == nil, "2026 is not a leap year")
        #expect(RFC3339.parse("2026-11-23 10:00:00Z") != nil)
        #expect(RFC3339.format(now - 2 * 86_400 + 0.25) == "2027-01-13T08:00:00.250Z")
    }

    @Test(arguments: [
        (#"{"provider": "x"}"#, "field 'type': required"),
        (#"{"type": "nope"}"#, #"field 'type': unknown event type "nope"; expected one of provider_request, provider_start, request_start, request_end, request, operation, cache_hit, cache_miss, error, timeout, rate_limit_hit, failover, metric, provider_usage"#),
        (#"{"type": 5}"#, "field 'type': expected a string, got 5"),
        (#"{"type": "provider_request", "provider": "a", "duration_ms": "fast"}"#, #"field 'duration_ms': expected a number ≥ 0, got "fast""#),
        (#"{"type": "provider_request", "provider": "a", "duration_ms": -1}"#, "field 'duration_ms': expected a number ≥ 0, got -1"),
        (#"{"type": "provider_request", "provider": "a", "duration_ms": 1e400}"#, "field 'duration_ms': expected a number ≥ 0, got 1e400"),
        (#"{"type": "provider_request", "provider": "a", "ttft_ms": [1]}"#, "field 'ttft_ms': expected a number ≥ 0, got an array"),
        (#"{"type": "provider_request", "provider": "a", "status_code": 99}"#, "field 'status_code': expected an integer from 100 to 599, got 99"),
        (#"{"type": "provider_request", "provider": "a", "status_code": 200.5}"#, "field 'status_code': expected an integer from 100 to 599, got 200.5"),
        (#"{"type": "provider_request", "provider": "a", "input_tokens": -3}"#, "field 'input_tokens': expected an integer ≥ 0, got -3"),
        (#"{"type": "provider_request", "provider": "a", "cost_usd": "1"}"#, #"field 'cost_usd': expected a number ≥ 0, got "1""#),
        (#"{"type": "provider_request", "provider": "a", "success": "yes"}"#, #"field 'success': expected true or false, got "yes""#),
        (#"{"type": "provider_request", "provider": "a", "sample_rate": 0}"#, "field 'sample_rate': expected a number in (0, 1], got 0"),
        (#"{"type": "provider_request", "provider": "a", "sample_rate": 1.5}"#, "field 'sample_rate': expected a number in (0, 1], got 1.5"),
        (#"{"type": "provider_request", "provider": "a", "metadata": {"k": {"x": 1}}}"#, "field 'metadata.k': expected a string, number or boolean, got an object"),
        (#"{"type": "provider_request", "provider": "a", "metadata": {"ok": 1, "k": [1]}}"#, "field 'metadata.k': expected a string, number or boolean, got an array"),
        (#"{"type": "provider_request", "provider": "a", "metadata": "x"}"#, #"field 'metadata': expected an object of scalar values, got "x""#),
        (#"{"type": "provider_request", "provider": {"name": "a"}}"#, "field 'provider': expected a string, got an object"),
        (#"{"type": "provider_request"}"#, "field 'provider': required for provider_request events"),
        (#"{"type": "provider_request", "provider": ""}"#, "field 'provider': required for provider_request events"),
        (#"{"type": "provider_start", "provider": "a"}"#, "field 'request_id': required for provider_start events"),
        (#"{"type": "request_start"}"#, "field 'request_id': required for request_start events"),
        (#"{"type": "request_end"}"#, "field 'request_id': required for request_end events (or name the 'endpoint')"),
        (#"{"type": "request"}"#, "field 'endpoint': required for request events"),
        (#"{"type": "operation"}"#, "field 'component': required for operation events"),
        (#"{"type": "rate_limit_hit"}"#, "field 'provider': required for rate_limit_hit events"),
        (#"{"type": "failover", "provider": "a"}"#, "field 'metadata.to_provider': required for failover events"),
        (#"{"type": "metric", "value": 1}"#, "field 'metric': required for metric events"),
        (#"{"type": "metric", "metric": "9lives", "value": 1}"#, #"field 'metric': expected a name matching [a-zA-Z_][a-zA-Z0-9_.-]* of at most 256 bytes, got "9lives""#),
        (#"{"type": "metric", "metric": "depth"}"#, "field 'value': required for metric events"),
        (#"{"type": "request", "endpoint": "/a", "timestamp": "yesterday"}"#, #"field 'timestamp': expected Unix seconds or an RFC 3339 time, got "yesterday""#),
        (#"{"type": "request", "endpoint": "/a", "timestamp": 1800000301}"#, "field 'timestamp': 2027-01-15T08:05:01.000Z is more than 300 s in the future"),
        (#"{"type": "request", "endpoint": "/a", "timestamp": 1800000000000}"#, "field 'timestamp': 59009-09-24T08:00:00.000Z is more than 300 s in the future (milliseconds? perfmond wants Unix seconds)"),
        (#"{"type": "request", "endpoint": "/a", "timestamp": 1799913599}"#, "field 'timestamp': 2027-01-14T07:59:59.000Z is older than the retention (24h)"),
        (#"{"type": "request", "endpoint": "/a", "timestamp": 1e300}"#, "field 'timestamp': 1e+300 s is more than 300 s in the future (milliseconds? perfmond wants Unix seconds)"),
        (#"{"type": "request", "endpoint": "/a", "timestamp": -1e300}"#, "field 'timestamp': -1e+300 s is older than the retention (24h)"),
        ("[1]", "expected an event object, got 1"),
        (#"{"type": "provider_request", "provider": "a", "duration_ms": 86400001}"#,
         "field 'duration_ms': 86400001 is more than 86400000 (a day), the largest perfmond keeps"),
        (#"{"type": "provider_request", "provider": "a", "cost_usd": 1.7e308}"#,
         "field 'cost_usd': 1.7e308 is more than 1000000 (US dollars), the largest perfmond keeps"),
        (#"{"type": "provider_request", "provider": "a", "input_tokens": 2000000000}"#,
         "field 'input_tokens': 2000000000 is more than 1000000000 (tokens), the largest perfmond keeps"),
        (#"{"type": "metric", "metric": "m", "value": -2e15}"#, "field 'value': -2e15 is more than 1e15 (in magnitude), the largest perfmond keeps"),
        (#"{"type": "provider_request", "provider": "a", "sample_rate": 1e-7}"#,
         "field 'sample_rate': 1e-7 is below 1e-06, the smallest rate kept (one event in a million)"),
        (#"{"type": "request_start", "request_id": "\#(String(repeating: "r", count: 257))"}"#, "field 'request_id': longer than 256 bytes"),
        (#"{"type": "operation", "component": "c", "metadata": {"\#(String(repeating: "k", count: 65))": "v"}}"#,
         #"field 'metadata': a key longer than 64 bytes ("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…")"#),
    ])
    func refusesWithOneClearError(json: String, message: String) {
        #expect(errorOf(json) == message)
    }

    @Test func refusesOverlongLabels() {
        let long = String(repeating: "m", count: 257)
        #expect(errorOf(#"{"type": "provider_request", "provider": "a", "model": "\#(long)"}"#) == "field 'model': longer than 256 bytes")
    }

    /// Seed 000 records operations with `metadata={"benchmark": True}`: scalars are kept as their JSON text.
    @Test func metadataScalarsAreKeptAsText() throws {
        let event = try decodeOne(#"{"type": "operation", "component": "router", "operation": "route", "duration_ms": 3, "metadata": {"benchmark": true, "shard": 7, "ratio": 0.25, "gone": null, "tier": "gold"}}"#).get()
        #expect(event.metadata == ["benchmark": "true", "shard": "7", "ratio": "0.25", "tier": "gold"])
    }

    /// Free text is cut, with … at the end, so that a long message does not cost the event.
    @Test func longMessagesAndMetadataValuesAreCut() throws {
        let long = String(repeating: "é", count: 2000)
        let event = try decodeOne(#"{"type": "operation", "component": "c", "error": "\#(long)", "metadata": {"trace": "\#(long)"}}"#).get()
        let message = try #require(event.kind.outcome?.errorMessage)
        #expect(message.utf8.count <= 1024 && message.hasSuffix("…") && message.hasPrefix("éé"))
        let trace = try #require(event.metadata["trace"])
        #expect(trace.utf8.count <= 256 && trace.hasSuffix("…"))
        #expect(EventLimits.cut("short", to: 10) == "short")
    }

    @Test func aliasesAreTheSameType() throws {
        #expect(try decodeOne(#"{"type": "provider_end", "provider": "a"}"#).get().type == .providerRequest)
        #expect(try decodeOne(#"{"type": "Failover_Initiated", "provider": "a", "metadata": {"to_provider": "b"}}"#).get().type == .failover)
    }

    @Test func arrayKeepsValidEventsAndIndexesErrors() {
        let batch = decoder.decode(Array(#"[{"type": "request", "endpoint": "/a"}, {"type": "x"}, 7, {"type": "request", "endpoint": "/b"}]"#.utf8), form: .json, now: now)
        #expect(batch.events.map(endpoint) == ["/a", "/b"])
        #expect(batch.errors.map(\.index) == [1, 2])
        #expect(batch.syntaxError == nil)
    }

    @Test func ndjsonIndexesByLineAndSurvivesBadLines() {
        let body = "{\"type\": \"request\", \"endpoint\": \"/a\"}\r\n\n{oops\n  \n{\"type\": \"request\", \"endpoint\": \"/b\"}"
        let batch = decoder.decode(Array(body.utf8), form: .ndjson, now: now)
        #expect(batch.events.map(endpoint) == ["/a", "/b"])
        #expect(batch.errors.count == 1)
        #expect(batch.errors.first?.index == 2)
        #expect(batch.errors.first?.message == "invalid JSON at byte 1 of the line: expected a string key in object")
    }

    @Test func malformedBodyIsOneSyntaxErrorAndKeepsNothing() {
        let batch = decoder.decode(Array(#"[{"type": "request", "endpoint": "/a"}, {"type": "#.utf8), form: .json, now: now)
        #expect(batch.events.isEmpty)
        #expect(batch.syntaxError == JSONSyntaxError(offset: 49, message: "unexpected end of input, expected a value"))
    }

    @Test func emptyBodiesHoldNoEvents() {
        for body in ["", "  \n", "[]"] {
            let batch = decoder.decode(Array(body.utf8), form: .json, now: now)
            #expect(batch.events.isEmpty && batch.errors.isEmpty && batch.syntaxError == nil)
        }
        #expect(decoder.decode(Array("\n\n".utf8), form: .ndjson, now: now).errors.isEmpty)
        #expect(decoder.decode(Array("\"x\"".utf8), form: .json, now: now).syntaxError?.message == "expected an event object or an array of event objects")
    }
}
