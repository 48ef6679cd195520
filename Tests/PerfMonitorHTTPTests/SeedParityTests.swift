import PerfJSON
import PerfMonitor
import Testing

/// The seed documents' own examples replayed, each checked against the answer the seed shows or
/// implies (issue 23; one test per item done).
@Suite struct SeedParityTests {
    /// Seed 003 records latencies in an HdrHistogram and reads p50, p95, p99 and p99.9 (item 5),
    /// here of 2,000 latencies, 1,980 of 100 ms and 20 of 5,000 ms (so p99 is 100, p99.9 5,000):
    /// p99.9 is in every JSON answer that has percentiles, within 1 % of the exact nearest rank,
    /// and is a stat an alert can judge.
    @Test func p999IsAnsweredAndAlertedOn() async throws {
        let harness = try Harness()
        var lines: [String] = []
        for index in 0..<2_000 {
            let milliseconds = index < 1980 ? 100 : 5000
            lines.append(#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":\#(milliseconds)}"#)
            lines.append(#"{"type":"request","endpoint":"/v1/chat","method":"POST","duration_ms":\#(milliseconds)}"#)
            lines.append(#"{"type":"operation","component":"router","operation":"route","duration_ms":\#(milliseconds)}"#)
        }
        for start in stride(from: 0, to: lines.count, by: 2000) { try await harness.post(Array(lines[start..<start + 2000])) }
        let exact = 5000.0  // the 1,998th of the 2,000
        func near(_ value: Double?) -> Bool { value.map { abs($0 - exact) <= exact * 0.01 } ?? false }
        let providers = try await harness.json("/performance/providers")
        #expect(near(providers.at("providers", "openai", "p999_response_time_ms")?.numberValue))
        #expect(providers.at("providers", "openai", "p99_response_time_ms")?.numberValue.map { abs($0 - 100) <= 1 } == true, "p99 is not p99.9")
        #expect(near(providers.at("providers", "openai", "model_stats", "gpt-4o", "p999_duration_ms")?.numberValue))
        let endpoints = try await harness.json("/performance/endpoints")
        #expect(near(endpoints.at("endpoints", "/v1/chat", "stats", "p999_duration_ms")?.numberValue), "\(endpoints)")
        #expect(near(endpoints.at("endpoints", "/v1/chat", "methods", "POST", "p999_duration_ms")?.numberValue))
        let components = try await harness.json("/performance/components")
        #expect(near(components.at("components", "router", "p999_duration_ms")?.numberValue), "\(components)")
        let dashboard = try JSONParser.parse(try await harness.get("/dashboard?window=1h", headers: [("Accept", "application/json")]).body)
        guard case let .array(rows)? = dashboard["providers"] else { Issue.record("no providers on the dashboard: \(dashboard)"); return }
        #expect(near(rows.first?["p999_ms"]?.numberValue), "\(rows)")

        let rule = #"{"alert_thresholds": [{"metric": "response_time_ms", "comparison": ">", "threshold": 1000, "severity": "critical", "stat": "p999", "window": "1h"}]}"#
        #expect(try await harness.request("POST", "/performance/config", body: rule).status == 200)
        await harness.alertEngine.evaluate()
        let alerts = try await harness.json("/performance/alerts")
        guard case let .array(active)? = alerts["active"] else { Issue.record("no alerts: \(alerts)"); return }
        #expect(!active.isEmpty && active.allSatisfy { near($0["current_value"]?.numberValue) }, "\(active)")
    }

    /// Seed 002's `/anthropic` example (2,000 operations: 1,930 × 200, 45 × 400, 25 × 500) with the
    /// error patterns and traffic its EndpointPerformance lists (items 6 and 4): error rate and
    /// types, throughput, min/max, and requests in flight per endpoint, in JSON and on /metrics.
    @Test func endpointsAnswerErrorPatternsTrafficAndInFlight() async throws {
        let harness = try Harness()
        let now = harness.clock.now()
        var lines: [String] = []
        for index in 0..<2000 {
            let (code, type) = index < 1930 ? (200, "") : index < 1975 ? (400, "bad_request") : (500, "server_error")
            let error = type.isEmpty ? "" : #","error_type":"\#(type)""#
            lines.append(#"{"type":"request","endpoint":"/anthropic","method":"POST","status_code":\#(code),"duration_ms":\#(500 + index % 1500)\#(error),"timestamp":\#(now - 100 + Double(index) * 0.05)}"#)
        }
        lines.append(#"{"type":"request_start","request_id":"r1","endpoint":"/anthropic","method":"POST"}"#)
        lines.append(#"{"type":"request_start","request_id":"r2","endpoint":"/anthropic","method":"POST"}"#)
        try await harness.post(lines)
        let stats = try await harness.json("/performance/endpoints?endpoint=/anthropic&window=5m").at("endpoints", "/anthropic")
        #expect(stats?.at("stats", "total_operations")?.numberValue == 2000)
        #expect(stats?.at("stats", "success_rate_percent")?.numberValue == 96.5)
        #expect(stats?.at("stats", "error_rate_percent")?.numberValue.map { abs($0 - 3.5) < 1e-9 } == true)
        #expect(stats?.at("stats", "error_types") == .object([("bad_request", .double(45)), ("server_error", .double(25))]))
        #expect(stats?.at("stats", "throughput_rps")?.numberValue.map { abs($0 - 2000.0 / 300) < 1e-9 } == true, "2,000 over the 5 m window")
        #expect(stats?.at("stats", "min_duration_ms")?.numberValue == 500)
        #expect(stats?.at("stats", "max_duration_ms")?.numberValue == 1999)
        #expect(stats?.at("methods", "POST", "error_rate_percent")?.numberValue.map { abs($0 - 3.5) < 1e-9 } == true)
        #expect(stats?["status_code_counts"] == .object([("200", .double(1930)), ("400", .double(45)), ("500", .double(25))]))
        #expect(stats?["in_flight"]?.numberValue == 2)
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains(#"perfmond_endpoint_requests_in_flight{endpoint="/anthropic"} 2"#))
    }

    /// Seed 002 monitors each provider's health and alerts "Response time degradation detected for
    /// provider cerebras" (item 8): a provider's `health` comes from the alerts scoped to it.
    @Test func eachProviderHasTheHealthOfItsOwnAlerts() async throws {
        let harness = try Harness()
        let rules = #"{"alert_thresholds": [{"metric": "response_time_ms", "comparison": ">", "threshold": 1000, "severity": "warning", "stat": "avg", "min_samples": 10}, {"metric": "error_rate_percent", "comparison": ">", "threshold": 50, "severity": "critical", "min_samples": 10}]}"#
        #expect(try await harness.request("POST", "/performance/config", body: rules).status == 200)
        var lines: [String] = []
        for _ in 0..<20 {
            lines.append(#"{"type":"provider_request","provider":"cerebras","model":"llama","duration_ms":3000}"#)
            lines.append(#"{"type":"provider_request","provider":"groq","model":"mixtral","duration_ms":100,"success":false,"error_type":"server_error"}"#)
            lines.append(#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":200}"#)
        }
        try await harness.post(lines)
        await harness.alertEngine.evaluate()
        let providers = try await harness.json("/performance/providers")
        #expect(providers.at("providers", "cerebras", "health")?.stringValue == "degraded")
        #expect(providers.at("providers", "groq", "health")?.stringValue == "critical")
        #expect(providers.at("providers", "openai", "health")?.stringValue == "healthy")
        #expect(try await harness.json("/performance/alerts")["system_health"]?.stringValue == "critical")
    }

    /// Seed 004's `track_cache_operation(hit=True, access_time=0.001)` and `(hit=False,
    /// access_time=0.1)` (item 7, its cache half): hit ratio and access times answered in JSON.
    @Test func cachesAnswerHitRatiosAndAccessTimes() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"cache_hit","access_time_ms":1}"#,
            #"{"type":"cache_miss","access_time_ms":100}"#,
            #"{"type":"cache_hit","component":"semantic_cache"}"#,
        ])
        let caches = try await harness.json("/performance/caches")
        #expect(caches["caches_count"]?.numberValue == 2)
        let scope = caches.at("caches", "default")
        #expect(scope?["hits"]?.numberValue == 1 && scope?["misses"]?.numberValue == 1)
        #expect(scope?["hit_ratio_percent"]?.numberValue == 50)
        #expect(scope?["avg_access_time_ms"]?.numberValue == 50.5)
        #expect(scope?["p95_access_time_ms"]?.numberValue.map { abs($0 - 100) <= 1 } == true)
        #expect(caches.at("caches", "semantic_cache", "hit_ratio_percent")?.numberValue == 100)
        let refused = try await harness.post(#"{"type":"cache_hit","access_time_ms":-1}"#)
        #expect(refused.status == 400 && refused.text.contains("access_time_ms"))
    }

    /// Seed 004's `track_request_end(request_id, status_code, bytes_sent, bytes_received)` with its
    /// cache hit and retry count (item 7): the bytes under their seed names, a cache hit or miss
    /// of the endpoint's cache scope, a retry distribution per endpoint; bad values named.
    @Test func requestEndsCarrySeed004sCacheHitsRetriesAndBytes() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"request_start","request_id":"r1","endpoint":"/api/v1/prompts","method":"GET"}"#,
            #"{"type":"request_end","request_id":"r1","status_code":200,"duration_ms":40,"bytes_sent":512,"bytes_received":2048,"cache_hit":true,"retry_count":0}"#,
            #"{"type":"request","endpoint":"/api/v1/prompts","method":"GET","status_code":200,"duration_ms":900,"bytes_sent":1536,"bytes_received":4096,"cache_hit":false,"retry_count":2}"#,
        ])
        let caches = try await harness.json("/performance/caches")
        let scope = caches.at("caches", "/api/v1/prompts")
        #expect(scope?["hits"]?.numberValue == 1 && scope?["misses"]?.numberValue == 1, "\(caches)")
        #expect(scope?["hit_ratio_percent"]?.numberValue == 50)
        let stats = try await harness.json("/performance/endpoints?endpoint=/api/v1/prompts").at("endpoints", "/api/v1/prompts", "stats")
        #expect(stats?["avg_request_bytes"]?.numberValue == 1024 && stats?["avg_response_bytes"]?.numberValue == 3072, "\(String(describing: stats))")
        #expect(stats?["retry_reported"]?.numberValue == 2 && stats?["avg_retry_count"]?.numberValue == 1)
        #expect(stats?["max_retry_count"]?.numberValue == 2 && stats?["retried_percent"]?.numberValue == 50)
        let events = try await harness.json("/performance/events?type=request_end")
        #expect(events.at("events")?.arrayValue?.first?["cache_hit"] == .bool(true), "\(events)")
        for (body, field) in [(#"{"type":"request","endpoint":"/a","cache_hit":"yes"}"#, "cache_hit"),
                              (#"{"type":"request","endpoint":"/a","retry_count":-1}"#, "retry_count"),
                              (#"{"type":"request","endpoint":"/a","retry_count":5000}"#, "retry_count"),
                              (#"{"type":"request","endpoint":"/a","bytes_sent":1.5}"#, "bytes_sent")] {
            let refused = try await harness.post(body)
            #expect(refused.status == 400 && refused.text.contains("field '\(field)'"), "\(body): \(refused.text)")
        }
        #expect(try await harness.json("/performance/endpoints").at("endpoints", "/a") == nil, "a refused event changes nothing")
    }

    /// Seed 003's `tasks_active` per component (item 4): tasks started with `request_start` naming
    /// a component are in flight for it until their end, whose duration (from the pair) is the
    /// component × operation's sample; in JSON, on /metrics, and across a snapshot.
    @Test func componentTasksAreInFlightUntilTheyEnd() async throws {
        let harness = try Harness()
        let now = harness.clock.now()
        try await harness.post([
            #"{"type":"request_start","request_id":"t1","component":"embedding_worker","operation":"embed","timestamp":\#(now - 2)}"#,
            #"{"type":"request_start","request_id":"t2","component":"embedding_worker","operation":"embed"}"#,
            #"{"type":"request_start","request_id":"t3","component":"embedding_worker","operation":"embed"}"#,
            #"{"type":"request_end","request_id":"t1","timestamp":\#(now - 0.5)}"#,
        ])
        let worker = try await harness.json("/performance/components").at("components", "embedding_worker")
        #expect(worker?["in_flight"]?.numberValue == 2, "\(String(describing: worker))")
        #expect(worker?["total_calls"]?.numberValue == 1)
        #expect(worker?.at("operations", "embed", "avg_duration_ms")?.numberValue == 1500, "the pair's duration")
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains(#"perfmond_component_operations_in_flight{component="embedding_worker"} 2"#))
        #expect(try await harness.json("/performance/memory").at("store", "unmatched_ends")?.numberValue == 0)

        let restored = MetricsStore(clock: harness.clock)
        await restored.restore(try StoreSnapshot.decode(await harness.store.snapshot().encoded()))
        #expect(await restored.inFlight().byComponent == ["embedding_worker": 2])
    }

    /// Seed 002's `setAlertThreshold` (item 10): thresholds one at a time, by id, with `enabled`;
    /// checked as the whole set is, nothing changed by a refusal; and seed 000's "fallback
    /// triggered" as `failovers_per_hour`.
    @Test func thresholdsAreSetOneAtATimeByID() async throws {
        let harness = try Harness()
        let config = try await harness.json("/performance/config")
        guard case let .array(listed)? = config["alert_thresholds"] else { Issue.record("no thresholds: \(config)"); return }
        #expect(listed.first?["id"]?.stringValue == "response_time_ms.p95.5m.gt.2000.warning" && listed.first?["enabled"] == .bool(true))

        let rule = #"{"metric": "failovers_per_hour", "comparison": ">", "threshold": 60, "severity": "warning", "min_samples": 1}"#
        #expect(try await harness.request("PUT", "/performance/config/thresholds/fallback", body: rule).status == 201)
        let replaced = try await harness.request("PUT", "/performance/config/thresholds/fallback", body: rule.replacingOccurrences(of: "60", with: "100"))
        #expect(replaced.status == 200, "\(replaced.text)")
        let now = try await harness.json("/performance/config")
        guard case let .array(thresholds)? = now["alert_thresholds"] else { Issue.record("no thresholds"); return }
        #expect(thresholds.filter { $0["id"]?.stringValue == "fallback" }.map { $0["threshold"]?.numberValue } == [100])
        #expect(thresholds.count == listed.count + 1)

        // Seed 000's fallback: 12 failovers in the last 5 minutes are 144 an hour, over 100.
        try await harness.post((0..<12).map { _ in #"{"type":"failover","provider":"openai","metadata":{"to_provider":"anthropic"}}"# })
        // The default p95 warning turned off by its own id: 3 s calls fire only the critical-free rest.
        let off = #"{"metric": "response_time_ms", "comparison": ">", "threshold": 2000, "severity": "warning", "enabled": false}"#
        #expect(try await harness.request("PUT", "/performance/config/thresholds/response_time_ms.p95.5m.gt.2000.warning", body: off).status == 200)
        try await harness.post((0..<20).map { _ in #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":3000}"# })
        await harness.alertEngine.evaluate()
        let alerts = try await harness.json("/performance/alerts")
        guard case let .array(active)? = alerts["active"] else { Issue.record("no alerts: \(alerts)"); return }
        let fallback = active.first { $0["metric"]?.stringValue == "failovers_per_hour" }
        #expect(fallback?["current_value"]?.numberValue == 144, "\(active)")
        #expect(fallback?.at("scope", "provider")?.stringValue == "openai" && fallback?.at("scope", "to_provider")?.stringValue == "anthropic")
        #expect(!active.contains { $0["metric"]?.stringValue == "response_time_ms" && $0["severity"]?.stringValue == "warning" }, "disabled")

        let before = try await harness.json("/performance/config")["alert_thresholds"]
        for (target, body, status, words) in [
            ("/performance/config/thresholds/long", #"{"metric": "error_rate_percent", "comparison": ">", "threshold": 5, "severity": "info", "window": "48h"}"#, 400, "longer than the retention"),
            ("/performance/config/thresholds/a", #"{"id": "b", "metric": "error_rate_percent", "comparison": ">", "threshold": 5, "severity": "info"}"#, 400, "is not the path's id"),
            ("/performance/config/thresholds/bad%20id", rule, 400, "is not a threshold id"),
            ("/performance/config/thresholds/x", #"{"metric": "nope!", "comparison": ">", "threshold": 5, "severity": "info"}"#, 400, "threshold.metric"),
            ("/performance/config/thresholds/x", "[", 400, "invalid JSON"),
        ] {
            let reply = try await harness.request("PUT", target, body: body)
            #expect(reply.status == status && reply.text.contains(words), "\(target): \(reply.text)")
        }
        #expect(try await harness.json("/performance/config")["alert_thresholds"] == before, "a refused edit changes nothing")

        let deleted = try await harness.request("DELETE", "/performance/config/thresholds/fallback", body: "")
        #expect(deleted.status == 200 && deleted.text.contains(#""deleted":"fallback""#), "\(deleted.text)")
        let again = try await harness.request("DELETE", "/performance/config/thresholds/fallback", body: "")
        #expect(again.status == 404 && again.text.contains("no threshold with id 'fallback'"))
        #expect(try await harness.request("GET", "/performance/config/thresholds/fallback", body: "").status == 405)
    }

    /// Seed 002's `getPerformanceReport` (item 9): one answer holding each path's own answer.
    @Test func theReportHoldsEveryPathsAnswer() async throws {
        let harness = try Harness()
        try await harness.post([#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":120}"#,
                                #"{"type":"cache_miss","access_time_ms":3}"#])
        let report = try await harness.json("/performance/report?window=5m")
        guard case let .object(members) = report else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["timestamp", "window", "real_time", "providers", "endpoints", "components", "caches", "memory",
                                     "alerts", "recommendations"])
        #expect(report["window"]?.stringValue == "5m")
        func withoutTimestamp(_ value: JSONValue?) -> JSONValue? {
            guard case let .object(members)? = value else { return value }
            return .object(members.filter { $0.0 != "timestamp" })
        }
        #expect(withoutTimestamp(report["providers"]) == withoutTimestamp(try await harness.json("/performance/providers?window=5m")))
        #expect(report.at("caches", "caches", "default", "misses")?.numberValue == 1)
        #expect(try await harness.get("/performance/report?window=forever").status == 400)
    }

    /// Seed 000's monitoring loop alerts "High error rate" past 5 % and "High latency" past an
    /// average of 1,000 ms for each component (item 1): with the default rules, components are
    /// judged, and the component latency rule never fires on an LLM provider.
    /// Seed 000's three component recommendations with its own figures (item 2): an average of
    /// 150 ms over the 100 ms target is a warning, 7.5 % of errors over 5 % is critical, 8 ops/s
    /// below an expected 15 (configured for that component) is a warning; each with seed 004's
    /// impact, confidence and estimated improvement as ratios.
    @Test func componentsGetSeed000sRecommendations() async throws {
        let rules = RecommendationRule.defaults + [RecommendationRule(.lowThroughput, target: 15, scope: .init(component: "rust_connection_pooling"))]
        let harness = try Harness(recommendationRules: rules)
        let now = harness.clock.now()
        var lines: [String] = []
        for index in 0..<100 {
            lines.append(#"{"type":"operation","component":"rust_token_counting","operation":"count","duration_ms":\#(index % 2 == 0 ? 100 : 200)}"#)
        }
        for index in 0..<200 {
            lines.append(#"{"type":"operation","component":"rust_routing","operation":"route","duration_ms":10,"success":\#(index >= 15)}"#)
        }
        for index in 0..<480 {
            lines.append(#"{"type":"operation","component":"rust_connection_pooling","operation":"acquire","duration_ms":10,"timestamp":\#(now - 59 + Double(index) / 8.1)}"#)
        }
        try await harness.post(lines)
        let answer = try await harness.json("/performance/recommendations?window=1m")
        guard case let .array(found)? = answer["recommendations"] else { Issue.record("no recommendations: \(answer)"); return }
        func one(_ type: String, _ component: String) -> JSONValue? {
            found.first { $0["type"]?.stringValue == type && $0["component"]?.stringValue == component }
        }
        let latency = one("high_latency", "rust_token_counting")
        #expect(latency?["severity"]?.stringValue == "warning")
        #expect(latency?["message"]?.stringValue == "average latency of rust_token_counting: 150 ms exceeds the 100 ms target")
        #expect(latency?["current_value"]?.numberValue == 150 && latency?["target_value"]?.numberValue == 100)
        // Reaching 100 ms removes a third of the latency; the component is 100 of the 780 operations.
        #expect(latency?["estimated_improvement"]?.numberValue == 0.33)
        #expect(latency?["impact"]?.numberValue == 0.04)
        #expect(latency?["confidence"]?.numberValue == 0.83)
        let errors = one("high_error_rate", "rust_routing")
        #expect(errors?["severity"]?.stringValue == "critical")
        #expect(errors?["message"]?.stringValue == "error rate of rust_routing: 7.5% exceeds the 5% target")
        #expect(errors?["estimated_improvement"]?.numberValue == 0.33)
        #expect(one("low_success_rate", "rust_routing") == nil, "high_error_rate replaces low_success_rate")
        let throughput = one("low_throughput", "rust_connection_pooling")
        #expect(throughput?["severity"]?.stringValue == "warning")
        #expect(throughput?["message"]?.stringValue == "throughput of rust_connection_pooling: 8 ops/s is below the expected 15 ops/s", "\(found)")
        #expect(one("low_throughput", "rust_routing") == nil, "no expected rate is configured for it")
    }

    @Test func theDefaultRulesJudgeComponentsAsSeed000Does() async throws {
        let harness = try Harness()
        var lines: [String] = []
        for index in 0..<100 {
            let failed = index % 25 < 2  // 8 %
            lines.append(#"{"type":"operation","component":"rust_routing","operation":"route","duration_ms":1500,"success":\#(!failed)}"#)
            lines.append(#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":1500}"#)
        }
        try await harness.post(lines)
        await harness.alertEngine.evaluate()
        let alerts = try await harness.json("/performance/alerts")
        guard case let .array(active)? = alerts["active"] else { Issue.record("no alerts: \(alerts)"); return }
        let fired = Set(active.compactMap { alert -> String? in
            guard let metric = alert["metric"]?.stringValue, let component = alert.at("scope", "component")?.stringValue ?? alert.at("scope", "provider")?.stringValue else { return nil }
            return "\(component) \(metric) \(alert["severity"]?.stringValue ?? "")"
        })
        #expect(fired == ["rust_routing error_rate_percent warning", "rust_routing response_time_ms warning"], "\(active)")
    }

    /// Seed 002's `recordEvent` examples (item 3): a REQUEST_START for component "database",
    /// operation "query", with a duration of 150.5 ms, and an A/B test's REQUEST_END for "abtest"
    /// with 120 ms, are component × operation samples; `event_id` is `request_id`.
    @Test func startsAndEndsWithAComponentAndADurationAreComponentSamples() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"request_start","event_id":"custom_event_id","component":"database","operation":"query","duration_ms":150.5,"metadata":{"query_type":"SELECT","table":"users"}}"#,
            #"{"type":"request_end","event_id":"checkout_b","component":"abtest","operation":"checkout","duration_ms":120,"metadata":{"variant":"b"}}"#,
            #"{"type":"request_start","event_id":"r-1","endpoint":"/v1/chat","method":"POST"}"#,
        ])
        let components = try await harness.json("/performance/components")
        #expect(components.at("components", "database", "total_calls")?.numberValue == 1)
        #expect(components.at("components", "database", "avg_duration_ms")?.numberValue == 150.5)
        #expect(components.at("components", "abtest", "total_calls")?.numberValue == 1)
        #expect(components.at("components", "abtest", "avg_duration_ms")?.numberValue == 120)
        let inFlight = await harness.store.inFlight()
        #expect(inFlight.total == 1 && inFlight.byEndpoint == ["/v1/chat": 1], "the start with an event_id is in flight")
    }

    /// Seed 002's `trackABTestPerformance` (item 3, `component_label_keys`): REQUEST_END events of
    /// component "abtest", operation "checkout", with `metadata.variant` — split by variant, the two
    /// variants are components of their own that `/performance/compare` sets side by side.
    @Test func componentLabelKeysSplitAnABTestByVariant() async throws {
        var configuration = StoreConfiguration()
        configuration.componentLabelKeys = ["variant"]
        let harness = try Harness(storeConfiguration: configuration)
        var lines: [String] = []
        for index in 0..<40 {
            lines.append(#"{"type":"request_end","event_id":"a\#(index)","component":"abtest","operation":"checkout","duration_ms":200,"metadata":{"variant":"A","success":"1"}}"#)
            lines.append(#"{"type":"request_end","event_id":"b\#(index)","component":"abtest","operation":"checkout","duration_ms":100,"metadata":{"variant":"B","success":"1"}}"#)
        }
        lines.append(#"{"type":"operation","component":"abtest","operation":"checkout","duration_ms":50}"#)  // no variant: the component itself
        try await harness.post(lines)
        let components = try await harness.json("/performance/components")
        #expect(components.at("components", "abtest[variant=A]", "operations", "checkout", "total_calls")?.numberValue == 40)
        #expect(components.at("components", "abtest[variant=B]", "avg_duration_ms")?.numberValue == 100)
        #expect(components.at("components", "abtest", "total_calls")?.numberValue == 1)
        let compared = try await harness.json("/performance/compare?a=abtest%5Bvariant%3DA%5D&b=abtest%5Bvariant%3DB%5D")
        #expect(compared.at("speed_improvement", "avg_latency")?.numberValue == 2, "B is twice as fast as A: \(compared)")
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains(#"component="abtest[variant=B]",operation="checkout""#))
    }

    /// Seed 001's `tail-requests.py --model llama3.1:8b` and `--level ERROR` (item 12, its
    /// filters): `/performance/events` keeps the events that match every filter given.
    @Test func eventsAreFilteredAsTailRequestsFilters() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"provider_request","provider":"ollama","model":"llama3.1:8b","duration_ms":900}"#,
            #"{"type":"provider_request","provider":"ollama","model":"llama3.1:8b","duration_ms":40,"status_code":500}"#,
            #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":2500}"#,
            #"{"type":"error","error_type":"timeout","component":"router"}"#,
            #"{"type":"operation","component":"router","operation":"route","duration_ms":3}"#,
        ])
        func durations(_ query: String) async throws -> [Double] {
            guard case let .array(events)? = try await harness.json("/performance/events?\(query)")["events"] else { return [] }
            return events.map { $0["duration_ms"]?.numberValue ?? -1 }
        }
        #expect(try await durations("model=llama3.1:8b") == [900, 40])
        #expect(try await durations("errors=true") == [40, -1])
        #expect(try await durations("model=llama3.1:8b&errors=true") == [40])
        #expect(try await durations("min_duration_ms=500") == [900, 2500])
        #expect(try await durations("component=router") == [-1, 3])
        #expect(try await durations("type=operation") == [3])
        #expect(try await durations("provider=openai&limit=5") == [2500])
        #expect(try await harness.get("/performance/events?type=nope").status == 400)
        #expect(try await harness.get("/performance/events?min_duration_ms=-1").status == 400)
        #expect(try await harness.get("/performance/events?errors=maybe").status == 400)
    }
}
