import Foundation
import PerfMonitor
import Testing
import TestSupport

/// `/metrics` in the Prometheus protobuf exposition (api.md §8), read back field by field: every
/// histogram family native (schema 6, the sketch's own buckets as spans and deltas) with its
/// classic buckets beside it, float histograms for weighted counts, counters and gauges as such.
@Suite struct ProtobufExpositionTests {
    static let protobuf = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    /// What Prometheus 2.42 sends with --enable-feature=native-histograms.
    static let prometheusAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

    func families(_ harness: Harness) async throws -> [String: ProtobufMessage] {
        let reply = try await harness.get("/metrics", headers: [("Accept", Self.prometheusAccept)])
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == Self.protobuf)
        var byName: [String: ProtobufMessage] = [:]
        for family in try ProtobufMessage.delimited(reply.body) { byName[family.string(1) ?? ""] = family }
        return byName
    }

    static func labels(_ metric: ProtobufMessage) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in try metric.messages(1) { result[pair.string(1) ?? ""] = pair.string(2) ?? "" }
        return result
    }

    @Test(arguments: [
        (prometheusAccept, "protobuf"),
        ("text/plain;q=0.9, application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5", "text"),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", "text"),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0", "text"),
        ("application/openmetrics-text;version=1.0.0;q=0.8,text/plain;q=0.2", "openmetrics"),
        ("*/*", "text"),
        ("", "text"),
    ])
    func theAcceptHeaderChoosesTheFormat(accept: String, format: String) async throws {
        let harness = try Harness()
        let reply = try await harness.get("/metrics", headers: [("Accept", accept)])
        let expected = ["protobuf": Self.protobuf, "text": "text/plain; version=0.0.4; charset=utf-8",
                        "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8"][format]
        #expect(reply.header("Content-Type") == expected)
        #expect(reply.header("Vary") == "Accept, Accept-Encoding")
    }

    @Test func aHistogramIsNativeWithItsClassicBucketsBeside() async throws {
        let harness = try Harness()
        try await harness.post([100, 150, 2000].map { #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":\#($0)}"# })
        let families = try await families(harness)
        let family = try #require(families["perfmond_provider_request_duration_seconds"])
        #expect(family.uint(3) == 4, "type HISTOGRAM")
        let metric = try #require(try family.messages(4).first)
        #expect(try Self.labels(metric) == ["provider": "openai", "model": "gpt-4o"])
        let histogram = try #require(try metric.message(7))
        #expect(histogram.uint(1) == 3)
        #expect(histogram.double(2) == 2.25)
        #expect(histogram.sint(5) == 6)
        #expect(histogram.double(6) == 1e-12)
        // 0.1 s, 0.15 s and 2 s are native buckets -212, -175 and 64: three spans of one.
        let spans = try histogram.messages(12).map { ($0.sint(1) ?? 0, $0.uint(2) ?? 0) }
        #expect(spans.map(\.0) == [-212, 36, 238] && spans.map(\.1) == [1, 1, 1])
        #expect(try histogram.packedSInts(13) == [1, 0, 0])
        let classic = try histogram.messages(3).map { ($0.double(2) ?? 0, $0.uint(1) ?? 0) }
        #expect(classic.map(\.0) == ClassicBounds().providerDuration)
        #expect(classic.map(\.1) == [0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3])
        // No calls with a time to first token: the family has no metric, so it is left out.
        #expect(families["perfmond_provider_time_to_first_token_seconds"] == nil)
        let calls = try #require(families["perfmond_provider_requests_total"])
        #expect(calls.uint(3) == nil, "type COUNTER (0, left out)")
        let success = try calls.messages(4).first { try Self.labels($0)["outcome"] == "success" }
        #expect(try success?.message(3)?.double(1) == 3)
        #expect(families["perfmond_ingest_queue_capacity"]?.uint(3) == 1)
    }

    @Test func weightedCountsMakeAFloatHistogram() async throws {
        let harness = try Harness()
        try await harness.post([#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":300,"sample_rate":0.3}"#])
        let families = try await families(harness)
        let histogram = try #require(try families["perfmond_provider_request_duration_seconds"]?.messages(4).first?.message(7))
        #expect(histogram.uint(1) == nil)
        #expect(abs((histogram.double(4) ?? 0) - 1 / 0.3) < 1e-12)
        #expect(try histogram.packedSInts(13).isEmpty)
        #expect(try histogram.packedDoubles(14).map { abs($0 - 1 / 0.3) < 1e-12 } == [true])
        #expect(try histogram.messages(3).allSatisfy { $0.uint(1) == nil && $0.double(4) != nil })
    }

    /// 30 values at 1/0.3 each: the running count and the buckets' sum differ in their last bit,
    /// and Prometheus refuses a whole scrape whose float histogram counts less than its buckets.
    @Test func aFloatHistogramNeverCountsLessThanItsBuckets() async throws {
        let harness = try Harness()
        try await harness.post((0..<30).map { #"{"type":"provider_request","provider":"openai","model":"w","duration_ms":\#(100 + $0),"sample_rate":0.3}"# })
        let families = try await families(harness)
        let histogram = try #require(try families["perfmond_provider_request_duration_seconds"]?.messages(4).first?.message(7))
        let buckets = try histogram.packedDoubles(14).reduce(0, +) + (histogram.double(8) ?? 0)
        #expect(try histogram.packedDoubles(14).count > 10, "values in many buckets")
        #expect((histogram.double(4) ?? 0) >= buckets)
        #expect(abs((histogram.double(4) ?? 0) - 100) < 1e-9)
    }

    @Test func everyHistogramFamilyIsNative() async throws {
        let harness = try Harness()
        try await harness.post([
            #"{"type":"provider_request","provider":"p","model":"m","duration_ms":120,"ttft_ms":40}"#,
            #"{"type":"request","endpoint":"/v1/chat","method":"POST","duration_ms":250}"#,
            #"{"type":"operation","component":"router","operation":"route","duration_ms":3}"#,
            #"{"type":"metric","metric":"queue_time","kind":"histogram","unit":"s","value":0.2}"#,
            #"{"type":"metric","metric":"batch_ratio","kind":"histogram","value":0.5}"#,
        ])
        let families = try await families(harness)
        let histograms = families.values.filter { $0.uint(3) == 4 }.compactMap { $0.string(1) }.sorted()
        #expect(histograms == ["batch_ratio", "perfmond_component_operation_duration_seconds", "perfmond_endpoint_request_duration_seconds", "perfmond_litellm_queue_wait_seconds",
                               "perfmond_provider_request_duration_seconds", "perfmond_provider_time_to_first_token_seconds", "queue_time_seconds"])
        for name in histograms {
            for metric in try families[name]!.messages(4) {
                #expect(try metric.message(7)?.sint(5) == 6, "\(name) is native")
            }
        }
        // A custom histogram without a time unit is shown in its own unit, each sketch bucket in the
        // native bucket of its middle: 0.5's sketch bucket, (0.4990, 0.5044], goes to native bucket
        // -63, (0.5, 0.5055] — one bucket off, where a time unit's buckets are the sketch's own.
        let ratio = try #require(try families["batch_ratio"]?.messages(4).first?.message(7))
        let ratioSpans = try ratio.messages(12).map { $0.sint(1) }
        #expect(ratioSpans == [-63])
        #expect(ratio.double(6) == 1e-9)
        let seconds = try #require(try families["queue_time_seconds"]?.messages(4).first?.message(7))
        #expect(try seconds.messages(12).first?.sint(1) == Int64((log2(0.2) * 64).rounded(.up)))
    }
}
