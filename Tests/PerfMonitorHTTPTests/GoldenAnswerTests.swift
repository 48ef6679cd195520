import Foundation
import PerfJSON
import PerfMonitor
import Testing
import TestSupport

/// Every route's answer to one fixed, seeded set of events, byte for byte, against answers
/// recorded before the typed-events refactor (issue 17): a refactor that changes what any route
/// says fails here. Only what varies from run to run is masked: timestamps and uptime, the
/// process's memory and CPU figures, and the store's byte estimate (a size in memory, not an
/// answer). `PERFMOND_RECORD_GOLDEN=1 swift test --filter GoldenAnswerTests` writes them anew.
@Suite(.serialized) struct GoldenAnswerTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// (file name, target, Accept header)
    static let routes: [(String, String, String?)] = [
        ("real-time.json", "/performance/real-time", nil),
        ("providers.json", "/performance/providers", nil),
        ("providers-5m.json", "/performance/providers?window=5m", nil),
        ("providers-openai.json", "/performance/providers?provider=openai", nil),
        ("endpoints.json", "/performance/endpoints", nil),
        ("caches.json", "/performance/caches", nil),
        ("endpoints-1h.json", "/performance/endpoints?window=1h", nil),
        ("components.json", "/performance/components", nil),
        ("components-router.json", "/performance/components?component=router", nil),
        ("compare.json", "/performance/compare?a=python_routing&b=rust_routing", nil),
        ("memory.json", "/performance/memory", nil),
        ("alerts.json", "/performance/alerts", nil),
        ("config.json", "/performance/config", nil),
        ("recommendations.json", "/performance/recommendations", nil),
        ("export.json", "/performance/export", nil),
        ("export.csv", "/performance/export?format=csv", nil),
        ("export.prom", "/performance/export?format=prometheus", nil),
        ("events.json", "/performance/events?limit=200", nil),
        ("dashboard.json", "/dashboard", "application/json"),
        ("metrics.txt", "/metrics", nil),
        ("metrics.openmetrics", "/metrics", "application/openmetrics-text; version=1.0.0"),
    ]

    @Test func everyRouteAnswersAsRecorded() async throws {
        let harness = try Harness()
        try await Self.feed(harness)
        for (file, target, accept) in Self.routes {
            let reply = try await harness.get(target, headers: accept.map { [("Accept", $0)] } ?? [])
            #expect(reply.status == 200, "\(target): \(reply.text)")
            try Self.compare(Self.masked(reply.text, file: file), with: file, what: target)
        }
        await harness.stop()
    }

    /// `answer` against Golden/`file`, or written there with `PERFMOND_RECORD_GOLDEN=1`.
    static func compare(_ answer: String, with file: String, what: String) throws {
        let url = directory.appendingPathComponent(file)
        if ProcessInfo.processInfo.environment["PERFMOND_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try answer.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let recorded = try String(contentsOf: url, encoding: .utf8)
        #expect(answer == recorded, "\(what) differs from Golden/\(file): first difference at line \(firstDifference(answer, recorded))")
    }

    /// About 3,000 events over two simulated hours, of every type and every optional field, from one seed.
    static func feed(_ harness: Harness) async throws {
        var random = SeededRandom(seed: 17)
        let providers = [("openai", ["gpt-4o", "gpt-4o-mini"]), ("anthropic", ["claude-sonnet"]), ("cerebras", ["llama3.1-70b"])]
        for round in 0..<20 {
            var lines: [String] = []
            for index in 0..<100 {
                let (provider, models) = providers[Int(random.next() % UInt64(providers.count))]
                let model = models[Int(random.next() % UInt64(models.count))]
                let duration = (exp(6 + random.normal() * 0.6) * 10).rounded() / 10
                let failed = random.unit() < 0.08
                let id = "r\(round)-\(index)"
                switch index % 10 {
                case 0, 1, 2:
                    let status = failed ? (random.unit() < 0.5 ? 429 : 500) : 200
                    lines.append(#"{"type":"provider_request","provider":"\#(provider)","model":"\#(model)","duration_ms":\#(duration),"ttft_ms":\#((duration / 5).rounded()),"status_code":\#(status),"cost_usd":0.00\#(index % 7 + 1),"input_tokens":\#(100 + index),"output_tokens":\#(20 + index % 9),"request_id":"p-\#(id)"\#(failed ? #","error_type":"upstream""# : "")}"#)
                case 3:
                    lines.append(#"{"type":"request_start","request_id":"\#(id)","endpoint":"/v1/chat","method":"post","provider":"\#(provider)","model":"\#(model)"}"#)
                    lines.append(#"{"type":"provider_start","request_id":"p-\#(id)","provider":"\#(provider)"}"#)
                case 4:
                    lines.append(#"{"type":"request_end","request_id":"r\#(round)-\#(index - 1)","status_code":\#(failed ? 503 : 200),"duration_ms":\#(duration + 20),"request_bytes":\#(index * 10),"response_bytes":\#(index * 40)}"#)
                case 5:
                    let component = random.unit() < 0.5 ? "python_routing" : "rust_routing"
                    let scale = component == "rust_routing" ? 0.2 : 1
                    lines.append(#"{"type":"operation","component":"\#(component)","operation":"route","duration_ms":\#((duration * scale / 10).rounded() / 10),"metadata":{"benchmark":true,"shard":\#(index % 3)}}"#)
                    lines.append(#"{"type":"operation","component":"router","operation":"\#(index % 20 == 5 ? "parse" : "validate")","duration_ms":\#((duration / 100).rounded() / 10),"success":\#(!failed)}"#)
                case 6:
                    lines.append(#"{"type":"\#(random.unit() < 0.7 ? "cache_hit" : "cache_miss")","component":"prompt_cache","access_time_ms":0.4}"#)
                    lines.append(#"{"type":"request","endpoint":"/v1/embeddings","method":"POST","duration_ms":\#((duration / 3).rounded()),"status_code":\#(failed ? 400 : 200),"sample_rate":0.5}"#)
                case 7:
                    if failed {
                        lines.append(#"{"type":"error","error_type":"timeout","provider":"\#(provider)","model":"\#(model)","error":"read timed out"}"#)
                    } else {
                        lines.append(#"{"type":"timeout","endpoint":"/v1/chat","method":"POST"}"#)
                    }
                case 8:
                    lines.append(#"{"type":"rate_limit_hit","provider":"\#(provider)","model":"\#(model)"}"#)
                    if index % 20 == 8 { lines.append(#"{"type":"failover","provider":"\#(provider)","metadata":{"to_provider":"cerebras"}}"#) }
                default:
                    lines.append(#"{"type":"metric","metric":"queue_depth","value":\#(index % 13),"unit":"items"}"#)
                    lines.append(#"{"type":"metric","metric":"pool_size","value":\#(8 + round % 4)}"#)
                }
            }
            // A slow, failing provider, so that alerts fire and resolve in the answers.
            for index in 0..<(round < 12 ? 12 : 0) {
                let failed = index % 3 == 0
                lines.append(#"{"type":"provider_request","provider":"slowai","model":"big","duration_ms":\#(2500 + 300 * index),"status_code":\#(failed ? 502 : 200)}"#)
            }
            try await harness.post(lines)
            harness.clock.advance(by: 60)
            _ = await harness.alertEngine.evaluate()
            harness.clock.advance(by: 300)
            await harness.store.maintain()
        }
    }

    /// Keys whose values vary from run to run (JSON), and metric families that do (/metrics).
    static let maskedKeys: Set<String> = [
        "timestamp", "uptime_s", "uptime_seconds", "started_at", "since", "resolved_at", "bytes_estimate",
        "heap_used_mb", "stack_used_mb", "anonymous_mb", "file_cache_mb", "rss_mb", "total_process_mb",
        "memory_pressure_percent", "page_faults", "average_heap_mb", "min_heap_mb", "max_heap_mb", "hours_analyzed",
        "cpu_percent", "threads", "open_fds", "pressure_trend", "peak_rss_mb", "memory_stall_percent",
    ]
    static let maskedFamilies = ["process_", "perfmond_memory", "perfmond_store_bytes", "perfmond_heap", "perfmond_cpu",
                                 "perfmond_uptime", "perfmond_start_time", "perfmond_system"]

    static func masked(_ text: String, file: String) -> String {
        if file.hasSuffix(".json") {
            guard let value = try? JSONParser.parse(Array(text.utf8)) else { return text }
            return pretty(mask(value)) + "\n"
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let name = line.hasPrefix("# ") ? line.split(separator: " ").dropFirst(2).first.map(String.init) ?? "" : String(line.prefix { $0 != "{" && $0 != " " })
            guard !line.hasPrefix("# HELP"), !line.hasPrefix("# TYPE"), !line.hasPrefix("# UNIT"),
                  maskedFamilies.contains(where: { name.hasPrefix($0) }) else { return String(line) }
            return String(line[..<(line.lastIndex(of: " ") ?? line.endIndex)]) + " MASKED"
        }.joined(separator: "\n")
    }

    static func mask(_ value: JSONValue) -> JSONValue {
        switch value {
        case let .object(members):
            .object(members.map { key, member in
                maskedKeys.contains(key) ? (key, .string("MASKED")) : (key, mask(member))
            })
        case let .array(items): .array(items.map(mask))
        default: value
        }
    }

    /// One member or item a line, so that a difference names its line.
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case let .object(members) where !members.isEmpty:
            return "{\n" + members.map { inner + JSONValue.string($0).rendered + ": " + pretty($1, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        case let .array(items) where !items.isEmpty:
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return value.rendered
        }
    }

    static func firstDifference(_ a: String, _ b: String) -> Int {
        let left = a.split(separator: "\n", omittingEmptySubsequences: false), right = b.split(separator: "\n", omittingEmptySubsequences: false)
        return (zip(left, right).enumerated().first { $1.0 != $1.1 }?.offset ?? Swift.min(left.count, right.count)) + 1
    }
}
