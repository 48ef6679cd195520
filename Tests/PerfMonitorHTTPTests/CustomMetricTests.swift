import Foundation
import PerfJSON
import PerfMonitor
import PerfmondConfig
import Testing
import TestSupport

/// Custom metrics with kinds and labels (api.md §7): each kind through POST /events and back out
/// of /performance/metrics and /metrics, the refusals, and the series limits.
@Suite struct CustomMetricTests {
    @Test func everyKindComesBackOutOfJSONAndMetrics() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"metric","metric":"llm.requests","kind":"counter","value":1,"labels":{"route":"chat","tier":"gold"}}"#,
            #"{"type":"metric","metric":"llm.requests","kind":"counter","value":2,"labels":{"tier":"gold","route":"chat"}}"#,
            #"{"type":"metric","metric":"llm.requests","kind":"counter","value":3,"labels":{"route":"embed"}}"#,
            #"{"type":"metric","metric":"queue-depth","kind":"gauge","value":5}"#,
            #"{"type":"metric","metric":"queue-depth","kind":"gauge","value":2,"delta":true}"#,
            #"{"type":"metric","metric":"latency","kind":"histogram","value":100,"unit":"ms"}"#,
            #"{"type":"metric","metric":"latency","kind":"histogram","value":200,"unit":"ms"}"#,
            #"{"type":"metric","metric":"latency","kind":"histogram","value":300,"unit":"ms"}"#,
            #"{"type":"metric","metric":"batch_size","kind":"histogram","value":3}"#,
            #"{"type":"metric","metric":"batch_size","kind":"histogram","value":7}"#,
            #"{"type":"metric","metric":"users","kind":"set","value":"ann"}"#,
            #"{"type":"metric","metric":"users","kind":"set","value":"bob"}"#,
            #"{"type":"metric","metric":"users","kind":"set","value":"ann"}"#,
            #"{"type":"metric","metric":"users","kind":"set","value":3}"#,
        ])
        let json = try await harness.json("/performance/metrics")
        #expect(json["metrics_count"]?.numberValue == 5)
        let counter = try #require(json.at("metrics", "llm.requests"))
        #expect(counter["kind"] == .string("counter"))
        guard case let .array(counterSeries)? = counter["series"] else { Issue.record("no series"); return }
        #expect(counterSeries.count == 2, "label order does not make another series")
        #expect(counterSeries[0]["labels"] == .object([("route", .string("chat")), ("tier", .string("gold"))]))
        #expect(counterSeries[0]["sum"]?.numberValue == 3 && counterSeries[0]["count"]?.numberValue == 2)
        #expect(counterSeries[0]["p50"] == nil && counterSeries[0]["last"] == nil, "a counter shows no percentiles or last value")
        #expect(json.at("metrics", "queue-depth", "series")?.arrayValue?.first?["last"]?.numberValue == 7, "a delta adds to the gauge")
        let latency = try #require(json.at("metrics", "latency", "series")?.arrayValue?.first)
        #expect(json.at("metrics", "latency", "unit") == .string("ms"))
        #expect(latency["sum"]?.numberValue == 600 && latency["count"]?.numberValue == 3)
        #expect(abs((latency["p50"]?.numberValue ?? 0) - 200) <= 2, "p50 in the unit sent, within 1 %")
        #expect(json.at("metrics", "users", "series")?.arrayValue?.first?["distinct"]?.numberValue == 3)

        let text = try await harness.get("/metrics").text
        for line in [
            "# TYPE llm_requests_total counter",
            #"llm_requests_total{route="chat",tier="gold"} 3"#,
            #"llm_requests_total{route="embed"} 3"#,
            "# TYPE queue_depth gauge", "queue_depth 7",
            "# TYPE latency_seconds histogram",
            #"latency_seconds_bucket{le="0.1"} 1"#, #"latency_seconds_bucket{le="0.25"} 2"#, #"latency_seconds_bucket{le="+Inf"} 3"#,
            "latency_seconds_sum 0.6", "latency_seconds_count 3",
            #"batch_size_bucket{le="5.0"} 1"#, #"batch_size_bucket{le="10.0"} 2"#, "batch_size_sum 10",
            "# TYPE users gauge", "users 3",
        ] {
            #expect(text.contains("\n" + line + "\n"), "/metrics has \(line)")
        }
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "promtool is missing: make test installs Debian's prometheus package")
        let checked = try run(promtool, ["check", "metrics"], input: Array(text.utf8))
        #expect(checked.status == 0 && checked.output.isEmpty, "promtool says: \(checked.output)")
        await harness.stop()
    }

    @Test func filtersByNameAndLabels() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"metric","metric":"hits","kind":"counter","value":1,"labels":{"cache":"a"}}"#,
            #"{"type":"metric","metric":"hits","kind":"counter","value":1,"labels":{"cache":"b"}}"#,
            #"{"type":"metric","metric":"misses","kind":"counter","value":1}"#,
        ])
        let export = try await harness.json("/performance/export")
        let hits = export["series"]?.arrayValue?.filter { $0["name"] == .string("hits") } ?? []
        #expect(hits.map { $0["labels"] } == [.object([("cache", .string("a"))]), .object([("cache", .string("b"))])], "the export carries the labels")
        #expect(hits.first?["subname"] == .string(#"cache="a""#))
        let one = try await harness.json("/performance/metrics?name=hits&label.cache=b")
        #expect(one["metrics_count"]?.numberValue == 1)
        #expect(one.at("metrics", "hits", "series")?.arrayValue?.first?["labels"] == .object([("cache", .string("b"))]))
        #expect(try await harness.get("/performance/metrics?name=nope").status == 404)
        #expect(try await harness.get("/performance/metrics?labels=x").status == 400)
        await harness.stop()
    }

    /// Each refusal: its own clear message, the event refused, nothing else changed.
    @Test(arguments: [
        (#"{"type":"metric","metric":"m","kind":"gauge","value":1}"#,
         "field 'kind': metric 'm' is a counter, not a gauge; a name keeps its first kind"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":-1}"#, "field 'value': a counter's value is an increment, ≥ 0; got -1"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"delta":true}"#,
         "field 'delta': only a gauge takes delta (this metric is a counter)"),
        (#"{"type":"metric","metric":"x","kind":"meter","value":1}"#, #"field 'kind': expected counter, gauge, histogram or set, got "meter""#),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"1a":"v"}}"#, "field 'labels.1a': a label name matches [a-zA-Z_][a-zA-Z0-9_]*"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"__a":"v"}}"#, "field 'labels.__a': label names starting with __ are reserved"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"le":"v"}}"#,
         "field 'labels.le': le, quantile, job and instance are reserved label names"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"a":1}}"#, "field 'labels.a': expected a string, got 1"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"a":"\#(String(repeating: "v", count: 129))"}}"#,
         "field 'labels.a': longer than 128 bytes"),
        (#"{"type":"metric","metric":"x","kind":"counter","value":1,"labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1"}}"#,
         "field 'labels': at most 8 labels, got 9"),
        (#"{"type":"metric","metric":"9x","value":1}"#,
         #"field 'metric': expected a name matching [a-zA-Z_][a-zA-Z0-9_.-]* of at most 256 bytes, got "9x""#),
        (#"{"type":"metric","metric":"m.total","kind":"gauge","value":1}"#,
         "field 'metric': 'm.total' would write m_total on /metrics, which custom metric 'm' already writes"),
        (#"{"type":"metric","metric":"perfmond_series","kind":"gauge","value":1}"#,
         "field 'metric': 'perfmond_series' would write perfmond_series on /metrics, under the names perfmond's own families use (perfmond_…, process_…)"),
    ])
    func refusalsAreClearAndChangeNothing(body: String, message: String) async throws {
        let harness = try Harness()
        try await harness.post([#"{"type":"metric","metric":"m","kind":"counter","value":1}"#])
        let before = try await harness.get("/performance/metrics").text
        let reply = try await harness.post(body)
        #expect(reply.status == 400, "\(reply.text)")
        let errors = try JSONParser.parse(reply.body)["errors"]
        #expect(errors?.arrayValue?.first?["error"] == .string(message))
        #expect(try await harness.get("/performance/metrics").text == before, "nothing else changed")
        #expect(harness.counters.current.rejectedEvents[.invalid] == 1)
        await harness.stop()
    }

    @Test func aNamePastTheLimitIsRefusedNotFolded() async throws {
        var store = StoreConfiguration()
        store.limits.customMetrics = 2
        let harness = try Harness(storeConfiguration: store)
        try await harness.post([#"{"type":"metric","metric":"a","kind":"counter","value":1}"#,
                                #"{"type":"metric","metric":"b","kind":"counter","value":1}"#])
        let reply = try await harness.post(#"{"type":"metric","metric":"c","kind":"counter","value":1}"#)
        #expect(reply.status == 400)
        #expect(reply.text.contains("'c' would be custom metric 3, past max_custom_metrics (2); the name is refused"))
        #expect(try await harness.json("/performance/metrics")["metrics_count"]?.numberValue == 2)
        await harness.stop()
    }

    /// Past max_series_per_metric (here 2) or max_custom_series (here 3), label sets fold into
    /// {__other__="true"} of their metric, counted by metric in /metrics and /performance/memory.
    @Test func labelSetsFoldAtBothLimits() async throws {
        var store = StoreConfiguration()
        store.limits.seriesPerMetric = 2
        store.limits.customSeries = 3
        let harness = try Harness(storeConfiguration: store)
        try await harness.post((0..<4).map { #"{"type":"metric","metric":"a","kind":"counter","value":1,"labels":{"k":"\#($0)"}}"# })
        try await harness.post((0..<2).map { #"{"type":"metric","metric":"b","kind":"counter","value":1,"labels":{"k":"\#($0)"}}"# })
        let json = try await harness.json("/performance/metrics")
        guard case let .array(a)? = json.at("metrics", "a", "series"), case let .array(b)? = json.at("metrics", "b", "series") else {
            Issue.record("no series: \(json)")
            return
        }
        // a: k=0, k=1, then __other__ takes k=2 and k=3 (per-metric limit). b: k=0 is the 4th series of
        // all, past max_custom_series: it folds, and so does k=1.
        #expect(a.map { $0["labels"] } == [.object([("__other__", .string("true"))]), .object([("k", .string("0"))]), .object([("k", .string("1"))])])
        #expect(a.first?["sum"]?.numberValue == 2)
        #expect(b.map { $0["labels"] } == [.object([("__other__", .string("true"))])])
        let text = try await harness.get("/metrics").text
        #expect(text.contains(#"perfmond_custom_metric_series_folded_total{metric="a"} 2"#))
        #expect(text.contains(#"perfmond_custom_metric_series_folded_total{metric="b"} 2"#))
        let memory = try await harness.json("/performance/memory")
        #expect(memory.at("store", "folded_by_metric", "a")?.numberValue == 2)
        await harness.stop()
    }

    @Test func labelsFullOfQuotesBackslashesNewlinesAndNonASCIIPassPromtool() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"metric","metric":"odd","kind":"gauge","value":1,"labels":{"v":"a\"b\\c\nd é ✓"}}"#,
            #"{"type":"metric","metric":"odd","kind":"gauge","value":2,"labels":{"v":"plain"}}"#,
            #"{"type":"metric","metric":"legacy","value":4,"labels":{"v":"q\"\\"}}"#,
        ])
        let text = try await harness.get("/metrics").text
        #expect(text.contains(#"odd{v="a\"b\\c\nd é ✓"} 1"#))
        #expect(text.contains(#"perfmond_custom_metric{name="legacy",v="q\"\\"} 4"#), "untyped metrics keep the old families, with their labels")
        let checked = try run("/usr/bin/promtool", ["check", "metrics"], input: Array(text.utf8))
        #expect(checked.status == 0 && checked.output.isEmpty, "promtool says: \(checked.output)")
        let json = try await harness.json("/performance/metrics?name=odd")
        #expect(json.at("metrics", "odd", "series")?.arrayValue?.first?["labels"] == .object([("v", .string("a\"b\\c\nd é ✓"))]))
        await harness.stop()
    }

    /// A threshold on a custom metric judges each series on its own, or only those with all of
    /// `scope.labels`; counters by `count`, `sum` or `last`.
    @Test func thresholdsJudgeLabelledSeries() async throws {
        let harness = try Harness()
        let rules = #"{"alert_thresholds": [{"metric": "llm.errors", "comparison": ">", "threshold": 5, "severity": "warning", "stat": "sum", "min_samples": 1, "scope": {"labels": {"route": "chat"}}}]}"#
        #expect(try await harness.request("POST", "/performance/config", body: rules).status == 200)
        try await harness.post([
            #"{"type":"metric","metric":"llm.errors","kind":"counter","value":4,"labels":{"route":"chat","region":"eu"}}"#,
            #"{"type":"metric","metric":"llm.errors","kind":"counter","value":3,"labels":{"route":"chat","region":"eu"}}"#,
            #"{"type":"metric","metric":"llm.errors","kind":"counter","value":9,"labels":{"route":"embed"}}"#,
        ])
        await harness.alertEngine.evaluate()
        let alerts = try await harness.json("/performance/alerts")
        guard case let .array(active)? = alerts["active"] else { Issue.record("no alerts: \(alerts)"); return }
        #expect(active.count == 1, "only the chat series: \(active)")
        #expect(active.first?["scope"] == .object([("metric", .string("llm.errors")), ("region", .string("eu")), ("route", .string("chat"))]))
        #expect(active.first?["current_value"]?.numberValue == 7)
        let refused = try await harness.request("POST", "/performance/config",
                                                body: #"{"alert_thresholds": [{"metric": "response_time_ms", "comparison": ">", "threshold": 1, "severity": "warning", "stat": "sum", "scope": {"labels": {"a": "b"}}}]}"#)
        #expect(refused.status == 400)
        #expect(refused.text.contains("scope.labels: only a custom metric has labels; response_time_ms is perfmond's own"))
        #expect(refused.text.contains("stat: sum is for custom metrics; response_time_ms takes avg, p50, p95, p99 or p999"))
        await harness.stop()
    }
}
