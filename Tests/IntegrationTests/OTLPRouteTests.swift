import Foundation
import PerfJSON
import PerfMonitor
import Testing
import TestSupport

/// The OTLP routes of the real binary (api.md §6.2): a protobuf span export in, the provider
/// stats out at once; the ingest token; errors answered in the request's encoding. The real
/// OpenTelemetry SDK is pointed at the daemon by Tests/otlp/otlp-test.py.
@Suite struct OTLPRouteTests {
    /// An `ExportTraceServiceRequest` of `count` GenAI spans of 250 ms, ending now.
    static func genAISpans(_ count: Int) -> [UInt8] {
        let end = UInt64(Date().timeIntervalSince1970 * 1e9)
        var writer = ProtobufWriter()
        writer.message(1) { resourceSpans in
            resourceSpans.message(2) { scope in
                for _ in 0..<count {
                    scope.message(2) { span in
                        span.string(5, "chat")
                        span.fixed64(7, end - 250_000_000)
                        span.fixed64(8, end)
                        span.message(9) { attribute in
                            attribute.string(1, "gen_ai.provider.name")
                            attribute.message(2) { $0.string(1, "openai") }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    func post(_ daemon: DaemonProcess, _ body: [UInt8], headers: [(String, String)] = []) throws -> HTTPReply {
        try RawHTTPClient(port: daemon.port).request("POST", "/v1/traces", headers: [("Content-Type", "application/x-protobuf")] + headers, body: body)
    }

    @Test func spansAreCountedByTheNextQuery() async throws {
        let daemon = try await DaemonProcess.launch()
        try await onThread {
            let reply = try post(daemon, Self.genAISpans(3))
            #expect(reply.status == 200 && reply.header("Content-Type") == "application/x-protobuf" && reply.body.isEmpty,
                    "nothing refused: an empty ExportTraceServiceResponse")
            let openai = try daemon.json("/performance/providers").at("providers", "openai")
            #expect(openai?.at("total_requests")?.numberValue == 3 && openai?.at("p50_response_time_ms")?.numberValue == 250)
            let truncated = try post(daemon, Array(Self.genAISpans(1).dropLast()))
            #expect(truncated.status == 400 && truncated.header("Content-Type") == "application/x-protobuf")
            #expect(truncated.body.first == 0x08 && truncated.body.dropFirst().first == 3, "a google.rpc.Status with code 3 (INVALID_ARGUMENT)")
            #expect(truncated.text.contains("ends inside a field"))
        }
        #expect(try await daemon.halt()?.status == 0)
    }

    @Test func theIngestTokenGuardsBothRoutes() async throws {
        let daemon = try await DaemonProcess.launch([], environment: ["PERFMOND_INGEST_TOKEN": "otlp-ingest-token-0123"])
        try await onThread {
            #expect(try post(daemon, Self.genAISpans(1)).status == 401)
            let metrics = try RawHTTPClient(port: daemon.port).request("POST", "/v1/metrics", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            #expect(metrics.status == 401)
            #expect(try post(daemon, Self.genAISpans(1), headers: [("Authorization", "Bearer otlp-ingest-token-0123")]).status == 200)
        }
        #expect(try await daemon.halt()?.status == 0)
    }
}

/// The live follow of `/performance/events` (Server-Sent Events) against a client that stops
/// reading: cut off once 1 MiB waits for it, counted `too_slow`, and the daemon goes on.
@Suite struct EventFollowTests {
    @Test func aFollowerThatStopsReadingIsCutOff() async throws {
        let daemon = try await DaemonProcess.launch([], environment: ["PERFMOND_RECENT_EVENTS": "100000"])
        try await onThread {
            let stalled = try RawHTTPClient(port: daemon.port)
            try stalled.send(RawHTTPClient.head("GET", "/performance/events?limit=1", headers: [("Accept", "text/event-stream")], contentLength: nil))
            // Far more frames than the socket buffers hold: 300,000 events of about 150 bytes each.
            for _ in 0..<60 { #expect(try daemon.post(providerCalls(5_000)).status == 202) }
            var ended = ""
            for _ in 0..<100 {
                let metrics = try RawHTTPClient(port: daemon.port).get("/metrics").text
                ended = metrics.split(separator: "\n").first { $0.hasPrefix(#"perfmond_event_followers_ended_total{reason="too_slow"}"#) }.map(String.init) ?? ""
                if ended.hasSuffix(" 1") { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect(ended.hasSuffix(" 1"), "the stalled follower is cut off and counted: \(ended)")
            #expect(try daemon.providerTotal() == 300_000, "ingest went on")
            stalled.close()
        }
        #expect(try await daemon.halt()?.status == 0)
    }
}
