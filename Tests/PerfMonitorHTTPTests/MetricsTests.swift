import Foundation
import Logging
import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfMonitorHTTP
import PerfmondConfig
import Testing
import TestSupport


/// Events that populate every family.
let everyFamily = [
    #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":812,"ttft_ms":140,"status_code":200,"cost_usd":0.5,"input_tokens":100,"output_tokens":20}"#,
    #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":3000,"status_code":500,"error_type":"server_error"}"#,
    #"{"type":"rate_limit_hit","provider":"openai","model":"gpt-4o"}"#,
    #"{"type":"failover","provider":"openai","metadata":{"to_provider":"anthropic"}}"#,
    #"{"type":"request_start","request_id":"r1","provider":"openai"}"#,
    #"{"type":"request","endpoint":"/v1/chat","method":"POST","status_code":200,"duration_ms":900,"request_bytes":10,"response_bytes":20}"#,
    #"{"type":"request","endpoint":"/v1/chat","method":"POST","duration_ms":90,"error_type":"client_gone"}"#,
    #"{"type":"operation","component":"router","operation":"parse","duration_ms":2}"#,
    #"{"type":"operation","component":"router","operation":"parse","duration_ms":3,"success":false,"error_type":"bad_input"}"#,
    #"{"type":"cache_hit","component":"prompt_cache"}"#,
    #"{"type":"cache_miss","component":"prompt_cache"}"#,
    #"{"type":"metric","metric":"queue_depth","value":7}"#,
    #"{"type":"error","error_type":"disk_full"}"#,
]

func run(_ tool: String, _ arguments: [String], input: [UInt8]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

@Suite struct MetricsTests {
    @Test func exactTextEscapingAndOrdering() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"provider_request","provider":"b","model":"m","duration_ms":100}"#,
            #"{"type":"provider_request","provider":"a\"q\\\nz","model":"m","duration_ms":100}"#,
        ])
        let text = try await harness.get("/metrics").text
        #expect(text.hasPrefix("""
            # HELP perfmond_provider_requests_total LLM provider calls completed, by outcome (success or error).
            # TYPE perfmond_provider_requests_total counter
            perfmond_provider_requests_total{provider="a\\"q\\\\\\nz",model="m",outcome="success"} 1
            perfmond_provider_requests_total{provider="a\\"q\\\\\\nz",model="m",outcome="error"} 0
            perfmond_provider_requests_total{provider="b",model="m",outcome="success"} 1
            perfmond_provider_requests_total{provider="b",model="m",outcome="error"} 0

            """))
        #expect(text.contains("""
            perfmond_provider_request_duration_seconds_bucket{provider="b",model="m",le="0.05"} 0
            perfmond_provider_request_duration_seconds_bucket{provider="b",model="m",le="0.1"} 1
            """))
        #expect(text.contains("perfmond_provider_request_duration_seconds_sum{provider=\"b\",model=\"m\"} 0.1\n"))
    }

    @Test func promtoolFindsNothingWrongWithEveryFamilyPopulated() async throws {
        let harness = try Harness()
        try await harness.post(everyFamily)
        let reply = try await harness.get("/metrics")
        #expect(reply.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        for family in ["provider_requests_total", "provider_errors_total", "provider_request_duration_seconds_bucket",
                       "provider_time_to_first_token_seconds_bucket", "provider_tokens_total", "provider_cost_usd_total",
                       "provider_rate_limit_hits_total", "provider_failovers_total", "provider_requests_in_flight",
                       "endpoint_requests_total", "endpoint_errors_total", "endpoint_request_duration_seconds_bucket",
                       "component_operations_total", "component_errors_total", "component_operation_duration_seconds_bucket",
                       "cache_requests_total", "errors_total", "custom_metric", "requests_in_flight", "events_received_total",
                       "events_rejected_total", "ingest_queue_depth", "series", "build_info", "alerts_firing"] {
            #expect(reply.text.contains("\nperfmond_\(family){") || reply.text.contains("\nperfmond_\(family) "), "\(family) has a sample")
        }
        #expect(reply.text.contains(#"perfmond_endpoint_requests_total{endpoint="/v1/chat",method="POST",status_code="none"} 1"#))
        #expect(reply.text.contains("\nprocess_resident_memory_bytes "))
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "promtool is missing: make test installs Debian's prometheus package")
        let checked = try run(promtool, ["check", "metrics"], input: reply.body)
        #expect(checked.status == 0)
        #expect(checked.output.isEmpty, "promtool says: \(checked.output)")
    }

    @Test func openMetricsWhenAsked() async throws {
        let harness = try Harness()
        try await harness.post(everyFamily)
        let reply = try await harness.get("/metrics", headers: [("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")])
        #expect(reply.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(reply.text.hasSuffix("# EOF\n"))
        #expect(reply.text.contains("# TYPE perfmond_provider_requests counter\n"))
        #expect(reply.text.contains("perfmond_provider_requests_total{provider=\"openai\""))
    }

    @Test func gzipWhenAccepted() async throws {
        let harness = try Harness()
        try await harness.post(everyFamily)
        let reply = try await harness.get("/metrics", headers: [("Accept-Encoding", "gzip, deflate")])
        #expect(reply.header("Content-Encoding") == "gzip")
        #expect(reply.header("Vary") == "Accept, Accept-Encoding")
        let plain = try run("/usr/bin/gzip", ["-d", "-c"], input: reply.body)
        #expect(plain.status == 0)
        #expect(plain.output.hasPrefix("# HELP perfmond_provider_requests_total"))
        #expect(plain.output.contains("perfmond_provider_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 0.5\n"))
    }

    @Test func prefixAndBucketsAreConfigurable() async throws {
        var configuration = MetricsConfiguration()
        configuration.prefix = "llm"
        var store = StoreConfiguration()
        store.classicBounds.providerDuration = [0.5, 1]
        let harness = try Harness(metrics: configuration, storeConfiguration: store)
        try await harness.post([#"{"type":"provider_request","provider":"p","model":"m","duration_ms":700}"#])
        let text = try await harness.get("/metrics").text
        #expect(text.contains("""
            llm_provider_request_duration_seconds_bucket{provider="p",model="m",le="0.5"} 0
            llm_provider_request_duration_seconds_bucket{provider="p",model="m",le="1.0"} 1
            llm_provider_request_duration_seconds_bucket{provider="p",model="m",le="+Inf"} 1
            """))
        #expect(!text.contains("perfmond_"))
    }

    @Test func countersNeverGoDown() async throws {
        let harness = try Harness()
        try await harness.post(everyFamily)
        let before = samples(try await harness.get("/metrics").text)
        try await harness.post(everyFamily + everyFamily)
        harness.clock.advance(by: 3600)
        let after = samples(try await harness.get("/metrics").text)
        for (name, value) in before where name.contains("_total{") || name.contains("_bucket{") || name.contains("_count{") {
            #expect((after[name] ?? -1) >= value, "\(name) went from \(value) to \(after[name] ?? -1)")
        }
        #expect(after[#"perfmond_provider_cost_usd_total{provider="openai",model="gpt-4o"}"#] == 1.5)
    }

    func samples(_ text: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            result[String(line[..<space])] = value
        }
        return result
    }

    @Test func dashboardsInDocsAreWhatTheCodeRenders() async throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/grafana")
        for (name, json) in GrafanaDashboards.files {
            let path = directory.appendingPathComponent(name).path
            if ProcessInfo.processInfo.environment["UPDATE_DASHBOARDS"] == "1" {
                try json.write(toFile: path, atomically: true, encoding: .utf8)
            }
            #expect((try? String(contentsOfFile: path, encoding: .utf8)) == json,
                    "docs/grafana/\(name) differs from GrafanaDashboards (regenerate: UPDATE_DASHBOARDS=1 swift test --filter dashboards)")
            _ = try JSONParser.parse(Array(json.utf8))
        }
        let harness = try Harness()
        let served = try await harness.get("/grafana-dashboard")
        #expect(served.status == 200)
        #expect(served.text == GrafanaDashboards.files[0].json)
    }
}
