import Foundation
import Logging
import MicroHTTPD
import PerfJSON
import PerfMonitor
import PerfMonitorHTTP
import PerfmondConfig
import Testing
import TestSupport



func near(_ value: JSONValue?, _ expected: Double, relative: Double = 0.01) -> Bool {
    guard let number = value?.numberValue else { return false }
    return expected == 0 ? number == 0 : abs(number - expected) / abs(expected) <= relative
}

func call(_ provider: String, _ model: String, ms: Double, at time: Double, _ extra: String = "") -> String {
    #"{"type":"provider_request","provider":"\#(provider)","model":"\#(model)","duration_ms":\#(ms),"timestamp":\#(time)\#(extra)}"#
}

@Suite struct QueryTests {
    /// openai/gpt-4o: 10 calls of 100…1000 ms, two of them 500s; anthropic/claude: 4 calls of 2 s
    /// and a rate-limit hit; /v1/chat: 3 POST (one 404) and a GET; router: parse ×5, route ×5 (one failed).
    func knownEvents(_ harness: Harness) async throws {
        let t = harness.clock.now()
        var lines: [String] = []
        for index in 1...10 {
            let failed = index > 8 ? #","status_code":500,"error_type":"server_error""# : #","status_code":200"#
            lines.append(call("openai", "gpt-4o", ms: Double(index * 100), at: t, #","ttft_ms":\#(index * 10),"cost_usd":0.01,"input_tokens":100,"output_tokens":10"# + failed))
        }
        for _ in 1...4 { lines.append(call("anthropic", "claude", ms: 2000, at: t, #","cost_usd":0.05"#)) }
        lines.append(#"{"type":"rate_limit_hit","provider":"anthropic","model":"claude"}"#)
        lines.append(#"{"type":"failover","provider":"anthropic","metadata":{"to_provider":"openai"}}"#)
        for status in [200, 200, 404] {
            lines.append(#"{"type":"request","endpoint":"/v1/chat","method":"POST","status_code":\#(status),"duration_ms":50,"request_bytes":1000,"response_bytes":3000}"#)
        }
        lines.append(#"{"type":"request","endpoint":"/v1/chat","method":"GET","status_code":200,"duration_ms":10}"#)
        for index in 1...5 {
            lines.append(#"{"type":"operation","component":"router","operation":"parse","duration_ms":2}"#)
            lines.append(#"{"type":"operation","component":"router","operation":"route","duration_ms":4,"success":\#(index != 5)}"#)
        }
        try await harness.post(lines)
    }

    @Test func providersAnswerExactNumbers() async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        let answer = try await harness.json("/performance/providers")
        #expect(answer["providers_count"]?.numberValue == 2)
        let openai = try #require(answer.at("providers", "openai"))
        #expect(openai["total_requests"]?.numberValue == 10)
        #expect(openai["successful_requests"]?.numberValue == 8)
        #expect(openai["failed_requests"]?.numberValue == 2)
        #expect(openai["success_rate_percent"]?.numberValue == 80)
        #expect(openai["error_rate_percent"]?.numberValue == 20)
        #expect(openai["average_response_time_ms"]?.numberValue == 550)
        #expect(near(openai["p50_response_time_ms"], 500))
        #expect(near(openai["p95_response_time_ms"], 1000))
        #expect(openai["min_response_time_ms"]?.numberValue == 100)
        #expect(openai["max_response_time_ms"]?.numberValue == 1000)
        #expect(openai["avg_ttft_ms"]?.numberValue == 55)
        #expect(near(openai["total_cost_usd"], 0.1, relative: 1e-9))
        #expect(openai["input_tokens"]?.numberValue == 1000)
        #expect(openai["error_types"] == .object([("server_error", .number(2, text: "2"))]))
        #expect(openai.at("model_stats", "gpt-4o", "total_operations")?.numberValue == 10)
        let anthropic = try #require(answer.at("providers", "anthropic"))
        #expect(anthropic["rate_limit_hits"]?.numberValue == 1)
        #expect(anthropic.at("failovers", "openai")?.numberValue == 1)
        #expect(anthropic["p99_response_time_ms"]?.numberValue == 2000)
        #expect(answer.at("summary", "total_requests")?.numberValue == 14)
        #expect(near(answer.at("summary", "success_rate_percent"), 12.0 / 14 * 100, relative: 1e-9))
        #expect(near(answer.at("summary", "total_estimated_cost"), 0.3, relative: 1e-9))
        // The filter keeps the envelope; the short alias answers the same.
        let one = try await harness.json("/providers?provider=anthropic")
        #expect(one["providers_count"]?.numberValue == 1)
        #expect(one.at("providers", "anthropic", "total_requests")?.numberValue == 4)
        #expect(one.at("summary", "total_requests")?.numberValue == 4)
        await harness.stop()
    }

    @Test func endpointsAndComponents() async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        let endpoints = try await harness.json("/endpoints")
        let chat = try #require(endpoints.at("endpoints", "/v1/chat"))
        #expect(chat["method"] == .string("GET,POST"))
        #expect(chat.at("methods", "POST", "total_operations")?.numberValue == 3)
        #expect(near(chat.at("methods", "POST", "success_rate_percent"), 200.0 / 3, relative: 1e-9))
        #expect(chat.at("methods", "POST", "avg_request_bytes")?.numberValue == 1000)
        #expect(chat.at("stats", "total_operations")?.numberValue == 4)
        #expect(chat["status_code_counts"] == .object([("200", .number(3, text: "3")), ("404", .number(1, text: "1"))]))
        #expect(endpoints.at("aggregated", "average_duration_ms")?.numberValue == 40)
        let components = try await harness.json("/performance/components?component=router")
        let router = try #require(components.at("components", "router"))
        #expect(router["total_calls"]?.numberValue == 10)
        #expect(router["failed_calls"]?.numberValue == 1)
        #expect(router["error_rate"]?.numberValue == 10)
        #expect(router["success_rate"]?.numberValue == 90)
        #expect(router["avg_duration_ms"]?.numberValue == 3)
        #expect(router.at("operations", "route", "failed_calls")?.numberValue == 1)
        #expect(router.at("operations", "parse", "max_duration_ms")?.numberValue == 2)
        await harness.stop()
    }

    @Test func windowsCountOnlyWhatIsInside() async throws {
        let harness = try Harness()
        let t = harness.clock.now()
        try await harness.post([call("openai", "gpt-4o", ms: 100, at: t - 1800), call("openai", "gpt-4o", ms: 300, at: t - 120)])
        func total(_ window: String) async throws -> Double? {
            try await harness.json("/providers\(window)").at("providers", "openai", "total_requests")?.numberValue
        }
        #expect(try await total("?window=1m") == 0)
        #expect(try await total("?window=5m") == 1)
        #expect(try await total("?window=1h") == 2)
        #expect(try await total("") == 2)
        harness.clock.advance(by: 3600)
        #expect(try await total("?window=1h") == 0)
        #expect(try await total("?window=24h") == 2)
        let fiveMinutes = try await harness.json("/providers?window=5m")
        #expect(fiveMinutes.at("providers", "openai", "throughput_rps")?.numberValue == 0)
        await harness.stop()
    }

    @Test func compareSaysHowManyTimesFasterAndWhetherItIsSignificant() async throws {
        let harness = try Harness()
        var lines: [String] = []
        for index in 0..<100 {
            lines.append(#"{"type":"operation","component":"python_routing","operation":"route","duration_ms":\#(45 + index % 11)}"#)
            lines.append(#"{"type":"operation","component":"rust_routing","operation":"route","duration_ms":\#(9 + Double(index % 11) / 5)}"#)
        }
        lines.append(#"{"type":"operation","component":"rust_routing","operation":"route","duration_ms":10,"success":false}"#)
        try await harness.post(lines)
        let answer = try await harness.json("/performance/compare?a=python_routing&b=rust_routing")
        #expect(answer.at("samples", "a")?.numberValue == 100)
        #expect(answer.at("samples", "b")?.numberValue == 101)
        #expect(near(answer.at("speed_improvement", "avg_latency"), 5.0))
        #expect(near(answer.at("speed_improvement", "p95_latency"), 54.0 / 11.0, relative: 0.02))
        #expect(answer.at("reliability", "a_success_rate")?.numberValue == 100)
        #expect(near(answer.at("reliability", "reliability_improvement"), 100.0 / 101 * 100 - 100, relative: 1e-9))
        #expect(answer["significant"] == .bool(true))
        // Too few samples: the numbers are given, but never called significant.
        try await harness.post((0..<5).flatMap { _ in [
            #"{"type":"operation","component":"a_few","duration_ms":100}"#, #"{"type":"operation","component":"b_few","duration_ms":10}"#,
        ] })
        let few = try await harness.json("/compare?a=a_few&b=b_few".replacing("/compare", with: "/performance/compare"))
        #expect(near(few.at("speed_improvement", "avg_latency"), 10))
        #expect(few["significant"] == .bool(false))
        await harness.stop()
    }

    @Test func recommendationsFireOnlyOnEnoughEvidence() async throws {
        let harness = try Harness()
        #expect(try await harness.json("/performance/recommendations")["recommendations_count"]?.numberValue == 0)
        let t = harness.clock.now()
        try await harness.post((0..<5).map { _ in call("tiny", "m", ms: 9000, at: t) })
        #expect(try await harness.json("/performance/recommendations")["recommendations_count"]?.numberValue == 0, "5 calls are too few")
        var lines: [String] = []
        for index in 0..<25 {
            lines.append(call("slow", "big", ms: 3000 + Double(index), at: t))
            let failed = index < 10 ? #","success":false,"error_type":"timeout""# : ""
            lines.append(call("flaky", "small", ms: 100, at: t, failed))
        }
        for index in 0..<30 { lines.append(#"{"type":"cache_\#(index < 6 ? "hit" : "miss")","component":"prompt_cache"}"#) }
        try await harness.post(lines)
        let answer = try await harness.json("/performance/recommendations")
        guard case let .array(items)? = answer["recommendations"] else { Issue.record("no list"); return }
        let byType = Dictionary(grouping: items) { $0["type"].flatMap { if case let .string(text) = $0 { text } else { nil } } ?? "" }
        #expect(Set(byType.keys) == ["high_latency", "high_error_rate", "dominant_error_type", "low_cache_hit_ratio"])
        let latency = try #require(byType["high_latency"]?.first)
        #expect(latency["provider"] == .string("slow"))
        #expect(latency["severity"] == .string("warning"))
        #expect(near(latency["current_value"], 3024, relative: 0.01))
        #expect(latency["target_value"]?.numberValue == 2000, "a provider's average against 2,000 ms")
        let errors = try #require(byType["high_error_rate"]?.first)
        #expect(errors["severity"] == .string("critical"), "40% is past 1.5 × 5%")
        #expect(errors["current_value"]?.numberValue == 40)
        #expect(byType["dominant_error_type"]?.first?["error_type"] == .string("timeout"))
        #expect(byType["low_cache_hit_ratio"]?.first?["current_value"]?.numberValue == 20)
        #expect(items.first?["severity"] == .string("critical"), "most severe first")
        await harness.stop()
    }

    @Test(arguments: [
        ("/performance/providers?window=abc", 400, "invalid window 'abc': expected a duration of at least 1s, a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"),
        ("/providers?window=0s", 400, "invalid window '0s': expected a duration of at least 1s, a number with a unit: ms, s, m, h or d (e.g. 500ms, 5s, 10m, 24h)"),
        ("/endpoints?window=25h", 400, "window 25h is longer than the retention (24h); the maximum is 24h"),
        ("/memory?window=2d", 400, "window 48h is longer than the retention (24h); the maximum is 24h"),
        ("/providers?windw=1h", 400, "unknown query parameter 'windw'; /providers accepts: window, provider"),
        ("/providers?provider=nope", 404, "unknown provider 'nope'"),
        ("/endpoints?endpoint=/nope", 404, "unknown endpoint '/nope'"),
        ("/components?component=nope", 404, "unknown component 'nope'"),
        ("/performance/compare?a=router", 400, "compare needs both ?a= and ?b= (component or provider names)"),
        ("/performance/compare?a=router&b=nope", 404, "unknown component or provider 'nope'"),
        ("/performance/export?format=xml", 400, "invalid format 'xml': expected one of json, csv, prometheus"),
        ("/performance/export?since=yesterday", 400, "invalid since 'yesterday': expected Unix seconds or an RFC 3339 time (2026-11-23T10:00:00Z)"),
        ("/performance/export?since=1&window=1h", 400, "give window or since, not both"),
        ("/performance/export?since=1", 400, "since is older than the retention (24h); data that old is no longer kept"),
        ("/performance/export?component=nope", 404, "unknown component 'nope'"),
        ("/performance/events?limit=0", 400, "invalid limit '0': expected an integer from 1 to 10000"),
        ("/performance/events?limit=many", 400, "invalid limit 'many': expected an integer from 1 to 10000"),
    ])
    func refusalsAreClearJSONErrors(target: String, status: Int, message: String) async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        let reply = try await harness.get(target)
        #expect(reply.status == status)
        #expect(reply.header("Content-Type") == "application/json; charset=utf-8")
        #expect(reply.text == #"{"error":"# + JSONString.quoted(message) + #","status":\#(status)}"#)
        await harness.stop()
    }

    @Test func everyPathAndAliasAnswersWithATimestamp() async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        for path in ["real-time", "providers", "endpoints", "components", "memory", "alerts", "config"] {
            for target in ["/performance/\(path)", "/\(path)", "/\(path)?window=1h"] { _ = try await harness.json(target) }
        }
        for target in ["/performance/recommendations", "/performance/export", "/performance/events", "/performance/compare?a=openai&b=anthropic"] {
            _ = try await harness.json(target)
        }
        let realTime = try await harness.json("/real-time")
        #expect(realTime.at("provider_performance", "openai", "total_requests")?.numberValue == 10)
        #expect(realTime["monitoring_active"] == .bool(true))
        #expect((realTime.at("memory_metrics", "total_process_mb")?.numberValue ?? 0) > 1)
        #expect(near(realTime["throughput_rps"], 30.0 / 60, relative: 1e-9), "30 events arrived in the last minute")
        let memory = try await harness.json("/memory")
        #expect(memory.at("store", "series")?.numberValue == 7)
        #expect((memory.at("current", "rss_mb")?.numberValue ?? 0) > 1)
        #expect(memory.at("ingest", "accepted_events")?.numberValue == 30)
        #expect(memory.at("persistence", "writes")?.numberValue == 0)
        #expect(memory.at("persistence", "last_write")?.numberValue == 0, "no snapshot yet: 0, not null")
        let alerts = try await harness.json("/alerts")
        #expect(alerts["system_health"] == .string("healthy"))
        await harness.stop()
    }

    @Test func exportFormats() async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        let csv = try await harness.get("/performance/export?format=csv&component=router")
        #expect(csv.header("Content-Type") == "text/csv; charset=utf-8; header=present")
        let rows = csv.text.components(separatedBy: "\r\n")
        #expect(rows.first?.hasPrefix("kind,name,subname,total,successes,failures,success_rate_percent") == true)
        #expect(rows[1].hasPrefix("component,router,parse,5,5,0,100,2,"))
        #expect(rows[2].hasPrefix("component,router,route,5,4,1,80,4,"))
        #expect(rows.count == 4 && rows[3].isEmpty)
        let json = try await harness.json("/performance/export?since=\(harness.clock.now() - 60)")
        #expect(json["series_count"]?.numberValue == 7)
        let text = try await harness.get("/performance/export?format=prometheus")
        #expect(text.text.contains(#"perfmond_export_total{kind="provider",name="openai",subname="gpt-4o"} 10"#))
        await harness.stop()
    }

    @Test func csvQuotesFieldsPerRFC4180() async throws {
        let harness = try Harness()
        try await harness.post([#"{"type":"operation","component":"a,b \"c\"","operation":"x","duration_ms":1}"#])
        let csv = try await harness.get("/performance/export?format=csv")
        #expect(csv.text.contains("\r\ncomponent,\"a,b \"\"c\"\"\",x,1,"))
        await harness.stop()
    }

    @Test func recentEvents() async throws {
        let harness = try Harness()
        try await knownEvents(harness)
        let answer = try await harness.json("/performance/events?limit=2")
        #expect(answer["count"]?.numberValue == 2)
        guard case let .array(events)? = answer["events"] else { Issue.record("no events"); return }
        #expect(events.last?["component"] == .string("router"))
        #expect(events.last?["operation"] == .string("route"))
        #expect(events.last?["success"] == .bool(false))
        await harness.stop()
    }

    @Test func configRoundTripAndRefusals() async throws {
        let harness = try Harness()
        let before = try await harness.json("/performance/config")
        #expect(before["port"]?.numberValue == 9470)
        #expect(before["retention"] == .string("24h"))
        guard case let .array(defaults)? = before["alert_thresholds"] else { Issue.record("no thresholds"); return }
        #expect(defaults.count == 11)

        let valid = #"{"alert_thresholds": [{"metric": "ttft_ms", "threshold": 800, "comparison": ">", "severity": "warning", "scope": {"provider": "openai"}}]}"#
        let updated = try await harness.request("POST", "/performance/config", body: valid)
        #expect(updated.status == 200)
        let after = try await harness.json("/config")
        #expect(after["alert_thresholds"] == .array([.object([
            ("id", .string("ttft_ms.p95.5m.gt.800.warning.provider=openai")), ("enabled", .bool(true)),
            ("metric", .string("ttft_ms")), ("comparison", .string(">")), ("threshold", .number(800, text: "800")),
            ("severity", .string("warning")), ("stat", .string("p95")), ("window", .string("5m")),
            ("for_seconds", .number(0, text: "0")), ("cooldown_seconds", .number(60, text: "60")),
            ("min_samples", .number(10, text: "10")), ("scope", .object([("provider", .string("openai"))])),
        ])]))
        #expect(harness.rules.current.map(\.metric) == [.ttftMs])

        let invalid = #"{"alert_thresholds": [{"metric": "ttft_ms", "threshold": "x", "comparison": "~", "severity": "warning"}, {"metric": "cpu_percent"}], "port": 1}"#
        let refused = try await harness.request("POST", "/performance/config", body: invalid)
        #expect(refused.status == 400)
        let problems = try JSONParser.parse(refused.body)
        #expect(problems["error"] == .string("invalid configuration: nothing was changed"))
        #expect(problems["problems"] == .array([
            .string("port: cannot be changed at run time; only alert_thresholds can (edit the config file and restart for the rest)"),
            .string(#"alert_thresholds[0].threshold: expected a number, got "x""#),
            .string(#"alert_thresholds[0].comparison: "~" is not one of >, >=, <, <=, =="#),
            .string("alert_thresholds[1].threshold: required"),
            .string("alert_thresholds[1].comparison: required"),
            .string("alert_thresholds[1].severity: required"),
        ]))
        #expect(harness.rules.current.map(\.metric) == [.ttftMs], "nothing changed")
        let notJSON = try await harness.request("POST", "/performance/config", body: "{")
        #expect(notJSON.status == 400)
        #expect(notJSON.text == #"{"error":"invalid JSON at byte 1: expected a string key in object","status":400}"#)
        await harness.stop()
    }
}

@Suite struct AlertAnswerTests {
    @Test func alertsRealTimeAndMetricsAgreeOnWhatFires() async throws {
        let harness = try Harness()
        let t = harness.clock.now()
        try await harness.post((0..<10).map { _ in call("openai", "gpt-4o", ms: 3000, at: t) })
        await harness.alertEngine.evaluate()  // the maintenance timer's job in the daemon
        let alerts = try await harness.json("/performance/alerts")
        #expect(alerts["active_alerts_count"]?.numberValue == 1)
        #expect(alerts["system_health"] == .string("degraded"))
        #expect(alerts["alerts"] == .array([.string("[warning] response_time_ms (p95 over 5m) of openai/gpt-4o is 3000, > 2000")]))
        guard case let .array(active)? = alerts["active"], let first = active.first else { Issue.record("no active alert"); return }
        #expect(first["state"] == .string("firing"))
        #expect(first["scope"] == .object([("provider", .string("openai")), ("model", .string("gpt-4o"))]))
        #expect(first["threshold"]?.numberValue == 2000)
        #expect(first["comparison"] == .string(">"))
        #expect(first["since"]?.numberValue == t)
        let realTime = try await harness.json("/real-time")
        #expect(realTime["active_alerts"]?.numberValue == 1)
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains("perfmond_alerts_firing{severity=\"warning\"} 1\n"))
        #expect(metrics.contains("perfmond_alerts_firing{severity=\"critical\"} 0\n"))
        await harness.stop()
    }
}
