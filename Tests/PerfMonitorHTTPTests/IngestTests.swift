import Foundation
import Logging
import MicroHTTPD
import PerfMonitor
import PerfMonitorHTTP
import Testing
import TestSupport

let oneCall = #"{"type": "provider_request", "provider": "openai", "model": "gpt-4o", "duration_ms": 250}"#

@Suite struct IngestTests {
    @Test func oneEventIsAcceptedAndCounted() async throws {
        let harness = try Harness()
        let reply = try await harness.post(oneCall)
        #expect(reply.status == 202)
        #expect(reply.text == #"{"accepted":1,"rejected":0,"errors":[]}"#)
        #expect(await harness.providerTotal() == 1, "a query after the 202 sees the event")
        #expect(harness.counters.current.acceptedEvents == 1)
        await harness.stop()
    }

    @Test func arrayAndNDJSONWithPartialAcceptance() async throws {
        let harness = try Harness()
        let array = try await harness.post("[\(oneCall), {\"type\": \"provider_request\", \"duration_ms\": \"fast\"}, \(oneCall)]")
        #expect(array.status == 202)
        #expect(array.text == #"{"accepted":2,"rejected":1,"errors":[{"index":1,"error":"field 'duration_ms': expected a number ≥ 0, got \"fast\""}]}"#)
        let ndjson = try await harness.post("\(oneCall)\nnot json\n\n\(oneCall)\n", contentType: "application/x-ndjson")
        #expect(ndjson.status == 202)
        #expect(ndjson.text == #"{"accepted":2,"rejected":1,"errors":[{"index":1,"error":"invalid JSON at byte 0 of the line: invalid literal, expected null"}]}"#)
        #expect(await harness.providerTotal() == 4)
        let totals = harness.counters.current
        #expect(totals.acceptedEvents == 4)
        #expect(totals.rejectedEvents[.invalid] == 2)
        await harness.stop()
    }

    @Test func badInputGetsItsErrorAndChangesNothing() async throws {
        let harness = try Harness()
        _ = try await harness.post(oneCall)
        let cases: [(body: String, contentType: String?, status: Int, text: String)] = [
            ("", "application/json", 400, #"{"accepted":0,"rejected":0,"errors":[{"error":"no events"}]}"#),
            ("[]", "application/json", 400, #"{"accepted":0,"rejected":0,"errors":[{"error":"no events"}]}"#),
            ("[\(oneCall), {", "application/json", 400, #"{"accepted":0,"rejected":0,"errors":[{"offset":93,"error":"invalid JSON: expected a string key in object"}]}"#),
            (#"{"type": "provider_request", "provider": "a", "duration_ms": -5}"#, "application/json", 400,
             #"{"accepted":0,"rejected":1,"errors":[{"index":0,"error":"field 'duration_ms': expected a number ≥ 0, got -5"}]}"#),
            (#"{"type": "bogus"}"#, nil, 400, #"{"accepted":0,"rejected":1,"errors":[{"index":0,"error":"field 'type': unknown event type \"bogus\"; expected one of provider_request, provider_start, request_start, request_end, request, operation, cache_hit, cache_miss, error, timeout, rate_limit_hit, failover, metric, provider_usage"}]}"#),
            (#"{"type": "request", "endpoint": "/a", "timestamp": 1700000000}"#, "application/json", 400,
             #"{"accepted":0,"rejected":1,"errors":[{"index":0,"error":"field 'timestamp': 2023-11-14T22:13:20.000Z is older than the retention (24h)"}]}"#),
            (#"{"type": "request", "endpoint": "/a", "timestamp": 1900000000}"#, "application/json", 400,
             #"{"accepted":0,"rejected":1,"errors":[{"index":0,"error":"field 'timestamp': 2030-03-17T17:46:40.000Z is more than 300 s in the future"}]}"#),
            (oneCall, "text/plain", 415, #"{"error":"unsupported Content-Type 'text/plain'; send application/json (one event or an array of events) or application/x-ndjson (one event per line), in UTF-8","status":415}"#),
            (oneCall, "application/json; charset=latin1", 415, #"{"error":"unsupported Content-Type 'application/json; charset=latin1'; send application/json (one event or an array of events) or application/x-ndjson (one event per line), in UTF-8","status":415}"#),
            (oneCall, "application/x-www-form-urlencoded", 415, #"{"error":"unsupported Content-Type 'application/x-www-form-urlencoded'; send application/json (one event or an array of events) or application/x-ndjson (one event per line), in UTF-8 (curl -d sends form data: add -H 'Content-Type: application/json')","status":415}"#),
        ]
        for item in cases {
            let reply = try await harness.post(item.body, contentType: item.contentType)
            #expect(reply.status == item.status, "\(item.body)")
            #expect(reply.text == item.text)
            #expect(reply.header("Content-Type") == "application/json; charset=utf-8")
        }
        let invalidUTF8 = try await harness.send("POST", "/events", headers: [("Content-Type", "application/json")],
                                                 body: Array(#"{"type": "request", "endpoint": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
        #expect(invalidUTF8.status == 400)
        #expect(invalidUTF8.text == #"{"accepted":0,"rejected":0,"errors":[{"offset":32,"error":"invalid JSON: invalid UTF-8 in string"}]}"#)
        #expect(await harness.providerTotal() == 1, "nothing else changed")
        #expect(await harness.store.series(.endpoint).isEmpty)
        let totals = harness.counters.current
        #expect(totals.rejectedRequests[.noEvents] == 2)
        #expect(totals.rejectedRequests[.malformed] == 2)
        #expect(totals.rejectedRequests[.unsupportedMediaType] == 3)
        #expect(totals.rejectedEvents[.invalid] == 4)
        let quotedUTF8 = try await harness.post(oneCall, contentType: #"application/json; charset="UTF-8""#)
        #expect(quotedUTF8.status == 202, "UTF-8 named in any case, quoted or not, is JSON's own charset")
        await harness.stop()
    }

    /// Live: the body limit is the server's.
    @Test func oversizeBodyIs413AndKeepsNothing() async throws {
        try await withLiveHarness(maxBodyBytes: 4096) { harness in
            let big = "[" + Array(repeating: oneCall, count: 100).joined(separator: ",") + "]"
            let reply = try await harness.post(big)
            #expect(reply.status == 413)
            #expect(reply.text == #"{"error":"request body is larger than the limit of 4096 bytes","status":413}"#)
            #expect(await harness.providerTotal() == 0)
        }
    }

    @Test func fullQueueRefusesTheWholeRequestWithRetryAfter() async throws {
        let harness = try Harness(queueCapacity: 1000)
        let batch = "[" + Array(repeating: oneCall, count: 600).joined(separator: ",") + "]"
        #expect(try await harness.post(batch).status == 202)
        let refused = try await harness.post(batch)
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.text == #"{"error":"ingest queue is full (1000 events); nothing of this request was kept, retry it","status":429}"#)
        #expect(harness.buffer.depth == 600, "nothing of the refused request was kept")
        #expect(await harness.providerTotal() == 600)
        #expect(try await harness.post(batch).status == 202, "once drained, the retry goes through")
        #expect(harness.counters.current.rejectedEvents[.queueFull] == 600)
        await harness.stop()
    }

    @Test func shuttingDownIs503WithRetryAfter() async throws {
        let harness = try Harness()
        harness.readiness.enter(.stopping)
        let reply = try await harness.post(oneCall)
        #expect(reply.status == 503)
        #expect(reply.header("Retry-After") == "5")
        #expect(await harness.providerTotal() == 0)
        await harness.stop()
    }

    /// Live: 64 keep-alive connections on the real server.
    @Test func sixtyFourConcurrentClientsPostingHundredThousandEventsCountExactly() async throws {
        try await withLiveHarness { harness in
            let port = harness.server?.port ?? 0
            // 64 clients × 16 posts; each post is 97 or 98 events, 100,000 in total, spread over 4 providers.
            let perClient = 100_000 / 64, remainder = 100_000 % 64
            let statuses = try await onThreads(64) { client in
                let connection = try RawHTTPClient(port: port, timeoutSeconds: 30)
                let mine = perClient + (client < remainder ? 1 : 0)
                var sent = 0, statuses: [Int] = []
                while sent < mine {
                    let count = min(98, mine - sent)
                    let events = (0..<count).map { index in
                        #"{"type":"provider_request","provider":"p\#((sent + index) % 4)","model":"m","duration_ms":\#(index + 1),"cost_usd":0.5,"input_tokens":3}"#
                    }
                    let reply = try connection.request("POST", "/events", headers: [("Content-Type", "application/json")],
                                                       body: Array(("[" + events.joined(separator: ",") + "]").utf8))
                    statuses.append(reply.status)
                    sent += count
                }
                return statuses
            }
            #expect(statuses.joined().allSatisfy { $0 == 202 })
            let series = await harness.store.series(.provider)
            #expect(series.count == 4)
            #expect(series.reduce(0) { $0 + $1.aggregate.total } == 100_000)
            #expect(series.reduce(0) { $0 + $1.aggregate.costUSD } == 50_000)
            #expect(series.reduce(0) { $0 + $1.aggregate.inputTokens } == 300_000)
            #expect(harness.counters.current.acceptedEvents == 100_000)
        }
    }
}
