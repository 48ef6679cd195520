import Foundation
import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfMonitorHTTP
import Testing
import TestSupport

/// `POST /ingest/litellm` without a socket (the router feeds the body in pieces, as a socket
/// does) and, where the server's own limits matter, live. The real LiteLLM client is driven
/// against the daemon by Tests/litellm/litellm-test.py.
@Suite struct LiteLLMTests {
    /// A standard logging payload as LiteLLM 1.110 writes it, with the members perfmond ignores
    /// (prompt, response) in place.
    static func payload(provider: String? = "openai", model: String = "gpt-4o-mini", start: Double = 1_799_999_990, seconds: Double = 0.25,
                        status: String = "success", stream: Bool? = nil, firstToken: Double? = nil, cost: Double = 0.001,
                        errorCode: String = "", errorClass: String = "", cacheHit: Bool? = nil,
                        headers: String = "{}", prompt: String = "hi") -> String {
        let providerText = provider.map { JSONString.quoted($0) } ?? "null"
        return """
        {"id": "chatcmpl-1", "trace_id": "t", "call_type": "acompletion", "cache_hit": \(cacheHit.map(String.init) ?? "null"), \
        "stream": \(stream.map(String.init) ?? "null"), "status": "\(status)", "custom_llm_provider": \(providerText), \
        "saved_cache_cost": 0.0, "startTime": \(start), "endTime": \(start + seconds), \
        "completionStartTime": \(firstToken.map { String(start + $0) } ?? String(start + seconds)), "response_time": \(seconds), \
        "model": "\(model)", "model_id": null, "model_group": "", "api_base": "", "prompt_tokens": 10, "completion_tokens": 20, \
        "total_tokens": 30, "response_cost": \(cost), "metadata": {"user_api_key_hash": null, "tags": ["a", "b"]}, \
        "messages": [{"role": "user", "content": \(JSONString.quoted(prompt))}], \
        "response": {"choices": [{"message": {"content": "hello \\"there\\" {not json}", "role": "assistant"}}]}, \
        "error_str": null, "error_information": {"error_code": "\(errorCode)", "error_class": "\(errorClass)", \
        "llm_provider": "", "traceback": "  File \\"x.py\\"", "error_message": "\(errorClass.isEmpty ? "" : "litellm.\(errorClass): slow down")"}, \
        "hidden_params": {"model_id": null, "additional_headers": \(headers)}, "litellm_call_id": "call-\(Int(start * 1000) % 100_000)"}
        """
    }

    func post(_ harness: Harness, _ body: String, contentType: String = "application/json") async throws -> HTTPReply {
        try await harness.send("POST", "/ingest/litellm", headers: [("Content-Type", contentType)], body: Array(body.utf8))
    }

    @Test(arguments: ["array", "ndjson", "single"])
    func everyLogFormatCountsItsPayloads(format: String) async throws {
        let harness = try Harness()
        let payloads = [Self.payload(seconds: 0.2), Self.payload(provider: "anthropic", model: "claude-3-5-haiku", seconds: 0.4)]
        let bodies = switch format {
        case "array": ["[" + payloads.joined(separator: ", ") + "]"]
        case "ndjson": [payloads.joined(separator: "\n") + "\n"]
        default: payloads
        }
        for body in bodies { #expect(try await post(harness, body).status == 202) }
        let providers = try await harness.json("/performance/providers")
        #expect(providers.at("providers", "openai", "total_requests")?.numberValue == 1)
        #expect(providers.at("providers", "anthropic", "model_stats", "claude-3-5-haiku", "avg_duration_ms")?.numberValue.map { abs($0 - 400) < 1e-3 } == true)
        #expect(harness.counters.totals(.litellm).acceptedEvents == 2)
    }

    @Test func mapsFailuresStreamsAndTheCache() async throws {
        let harness = try Harness()
        let body = "[" + [
            Self.payload(status: "failure", cost: 0, errorCode: "429", errorClass: "RateLimitError"),
            Self.payload(model: "gpt-4o", stream: true, firstToken: 0.05),
            Self.payload(model: "gpt-4o", cacheHit: true),
            Self.payload(model: "gpt-4o", cacheHit: false, headers: #"{"x_ratelimit_remaining_requests": "99", "x_ratelimit_remaining_tokens": 12000}"#),
        ].joined(separator: ",") + "]"
        let reply = try await post(harness, body)
        #expect(reply.status == 202)
        #expect(reply.text == #"{"accepted":4,"rejected":0,"errors":[]}"#)
        let openai = try await harness.json("/performance/providers?provider=openai").at("providers", "openai")
        #expect(openai?["total_requests"]?.numberValue == 3, "the cache hit is not a provider call")
        #expect(openai?["failed_requests"]?.numberValue == 1)
        #expect(openai?["rate_limit_hits"]?.numberValue == 1)
        #expect(openai?.at("error_types", "RateLimitError")?.numberValue == 1)
        #expect(openai?["avg_ttft_ms"]?.numberValue.map { abs($0 - 50) < 1e-3 } == true, "only the streamed call has a TTFT")
        #expect(openai?.at("model_stats", "gpt-4o", "ratelimit_remaining_requests")?.numberValue == 99)
        #expect(openai?.at("model_stats", "gpt-4o", "ratelimit_remaining_tokens")?.numberValue == 12000)
        #expect(openai?.at("model_stats", "gpt-4o-mini", "ratelimit_remaining_requests") == nil)
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains(#"perfmond_cache_requests_total{scope="litellm",result="hit"} 1"#))
        #expect(metrics.contains(#"perfmond_cache_requests_total{scope="litellm",result="miss"} 1"#))
        #expect(metrics.contains(#"perfmond_provider_ratelimit_remaining{provider="openai",model="gpt-4o",kind="requests"} 99"#))
        #expect(metrics.contains(#"perfmond_provider_requests_total{provider="openai",model="gpt-4o-mini",outcome="error"} 1"#))
    }

    @Test func aBadPayloadCostsOnlyItself() async throws {
        let harness = try Harness()
        let body = "[" + [Self.payload(), "42", #"{"model": "gpt-4o", "startTime": 1799999990}"#,
                          #"{"model": "gpt-4o", "startTime": "soon", "endTime": 1799999991}"#, Self.payload(seconds: 0.3)].joined(separator: ",") + "]"
        let reply = try await post(harness, body)
        #expect(reply.status == 202)
        #expect(reply.text == #"{"accepted":2,"rejected":3,"errors":[{"index":1,"error":"expected a payload object"},{"index":2,"error":"member 'endTime': required"},{"index":3,"error":"member 'startTime': expected epoch seconds or an RFC 3339 time, got \"soon\""}]}"#)
        #expect(await harness.providerTotal() == 2)
        #expect(harness.counters.totals(.litellm).rejectedEvents[.invalid] == 3)
    }

    @Test(arguments: [
        ("[" + payload() + ", {", 400, #""offset":"#),
        ("{\"model\": 1 2}", 400, "expected ',' or '}'"),
        ("[]", 400, "no payloads"),
        ("   ", 400, "no payloads"),
        ("[1, 2]", 400, "expected a payload object"),
        ("[" + payload() + "] [" + payload() + "]", 400, "unexpected text after the batch"),
    ] as [(String, Int, String)])
    func refusesABodyThatIsNotABatch(body: String, status: Int, message: String) async throws {
        let harness = try Harness()
        let reply = try await post(harness, body)
        #expect(reply.status == status)
        #expect(reply.text.contains(message), "\(reply.text)")
        #expect(await harness.providerTotal() == 0, "a refused batch leaves nothing behind")
    }

    @Test func refusesOtherMediaTypes() async throws {
        let harness = try Harness()
        let reply = try await post(harness, Self.payload(), contentType: "text/plain")
        #expect(reply.status == 415)
        #expect(harness.counters.totals(.litellm).rejectedRequests[.unsupportedMediaType] == 1)
    }

    /// LiteLLM does not retry a 4xx: a full queue holds the batch until the store makes room.
    @Test func aFullQueueHoldsTheBatchThenAppliesIt() async throws {
        // A long wait: on a busy machine the waiting task may not run for seconds.
        let harness = try Harness(queueCapacity: 1000, litellmQueueWait: .seconds(60))
        let filler = "[" + Array(repeating: #"{"type":"provider_request","provider":"filler","timestamp":1799999950}"#, count: 1000).joined(separator: ",") + "]"
        #expect(try await harness.post(filler).status == 202)
        #expect(try await harness.post(#"{"type":"provider_request","provider":"x"}"#).status == 429, "the queue is full")
        let held = Task { try await post(harness, "[" + Self.payload() + "]") }
        try await Task.sleep(for: .milliseconds(300))
        #expect(harness.buffer.depth == 1000, "still waiting")
        await harness.store.drain()  // the store makes room, as its drainer does
        let reply = try await held.value
        #expect(reply.status == 202)
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains("perfmond_litellm_queue_wait_seconds_count 1"))
    }

    @Test func aQueueThatStaysFullAnswers503WithRetryAfter() async throws {
        let harness = try Harness(queueCapacity: 1000, litellmQueueWait: TimeSpan(milliseconds: 200))
        let filler = "[" + Array(repeating: #"{"type":"provider_request","provider":"filler","timestamp":1799999950}"#, count: 1000).joined(separator: ",") + "]"
        #expect(try await harness.post(filler).status == 202)
        let reply = try await post(harness, "[" + Self.payload() + "," + Self.payload() + "]")
        #expect(reply.status == 503)
        #expect(reply.header("Retry-After") == "1")
        #expect(harness.counters.totals(.litellm).rejectedEvents[.queueTimeout] == 2)
        #expect(harness.counters.totals(.litellm).rejectedRequests[.queueTimeout] == 1)
    }

    /// Live: a 50 MB batch of 512 payloads with 100 KB prompts is read as it arrives and applied
    /// whole, through a server whose own limit (`/events`') is 1 MiB.
    @Test func aFiftyMegabyteBatchIsAcceptedWhole() async throws {
        try await withLiveHarness { harness in
            // Built on a thread of its own: 50 MB of bytes made on the cooperative pool (2 threads
            // here) starved the other tests' async handlers.
            let body = try await onThread { () -> [UInt8] in
                let one = Array(Self.payload(prompt: String(repeating: "word \\\"quoted\\\" ", count: 6_500)).utf8)  // ≈ 100 KB
                var body: [UInt8] = [UInt8(ascii: "[")]
                body.reserveCapacity(513 * one.count)
                for index in 0..<512 {
                    if index > 0 { body.append(UInt8(ascii: ",")) }
                    body.append(contentsOf: one)
                }
                body.append(UInt8(ascii: "]"))
                return body
            }
            #expect(body.count > 50_000_000)
            let reply = try await harness.send("POST", "/ingest/litellm", headers: [("Content-Type", "application/json")], body: body)
            #expect(reply.status == 202, "\(reply.text.prefix(200))")
            #expect(reply.text == #"{"accepted":512,"rejected":0,"errors":[]}"#)
            #expect(await harness.providerTotal() == 512)
            #expect(harness.server?.refusals.tooLargeByPath.isEmpty == true)
        }
    }
}
