import Foundation
import PerfMonitor
import PerfmondConfig
import Testing

/// `/metrics` in text and OpenMetrics for a fixed set of values that all lie farther than 1 % from
/// every classic bound, against the answers of the binary before the sketch took the native
/// histogram layout (issue 22, recorded at 86fa2ad): classic `le` buckets are counted per boundary,
/// so a change of the sketch's layout must not move a single byte of them.
/// `PERFMOND_RECORD_GOLDEN=1` writes them anew.
@Suite(.serialized) struct ClassicBucketGoldenTests {
    /// Every classic bound any family uses, in seconds or in a custom histogram's own unit.
    static var allBounds: [Double] {
        ClassicBounds.lists.flatMap { ClassicBounds()[keyPath: $0] }
    }

    /// A log-normal value in seconds (or units), redrawn while it lies within 1.5 % of a bound.
    static func farFromBounds(_ random: inout SeededRandom, median: Double, sigma: Double) -> Double {
        while true {
            let value = ((median * exp(random.normal() * sigma)) * 1e6).rounded() / 1e6
            if allBounds.allSatisfy({ abs(value - $0) > 0.015 * $0 }) { return value }
        }
    }

    @Test func classicBucketsAnswerAsRecorded() async throws {
        let harness = try Harness()
        var random = SeededRandom(seed: 22)
        var lines: [String] = []
        for index in 0..<1_500 {
            let provider = ["openai", "anthropic", "bedrock"][index % 3]
            let duration = Self.farFromBounds(&random, median: [0.8, 2.5, 9][index % 3], sigma: 0.9) * 1000
            let ttft = Self.farFromBounds(&random, median: 0.3, sigma: 0.8) * 1000
            let weight = index % 7 == 0 ? #","sample_rate":0.5"# : ""
            lines.append(#"{"type":"provider_request","provider":"\#(provider)","model":"m\#(index % 2)","duration_ms":\#(duration),"ttft_ms":\#(ttft),"status_code":200\#(weight)}"#)
            let endpoint = Self.farFromBounds(&random, median: 1.2, sigma: 1) * 1000
            lines.append(#"{"type":"request","endpoint":"/v1/chat","method":"POST","duration_ms":\#(endpoint),"status_code":200}"#)
            let operation = Self.farFromBounds(&random, median: 0.004, sigma: 1.2) * 1000
            lines.append(#"{"type":"operation","component":"router","operation":"route","duration_ms":\#(operation)}"#)
            let queueTime = Self.farFromBounds(&random, median: 0.08, sigma: 1) * 1000
            lines.append(#"{"type":"metric","metric":"queue_time","kind":"histogram","unit":"ms","value":\#(queueTime),"labels":{"pool":"p\#(index % 2)"}}"#)
            let ratio = Self.farFromBounds(&random, median: 0.4, sigma: 1.5)
            lines.append(#"{"type":"metric","metric":"batch_ratio","kind":"histogram","value":\#(ratio)}"#)
        }
        for start in stride(from: 0, to: lines.count, by: 1_000) {
            try await harness.post(Array(lines[start..<Swift.min(start + 1_000, lines.count)]))
        }
        for (file, accept) in [("classic-buckets.txt", nil), ("classic-buckets.openmetrics", "application/openmetrics-text; version=1.0.0")] {
            let reply = try await harness.get("/metrics", headers: accept.map { [("Accept", $0)] } ?? [])
            #expect(reply.status == 200)
            // Only the histogram families: the rest is the daemon's own state, covered by GoldenAnswerTests.
            try GoldenAnswerTests.compare(Self.histogramLines(reply.text), with: file, what: "/metrics")
        }
        await harness.stop()
    }

    /// The lines of every `_bucket`, `_sum` and `_count` sample of the families fed above.
    static func histogramLines(_ text: String) -> String {
        let families = ["perfmond_provider_request_duration_seconds", "perfmond_provider_time_to_first_token_seconds",
                        "perfmond_endpoint_request_duration_seconds", "perfmond_component_operation_duration_seconds",
                        "queue_time_seconds", "batch_ratio"]
        return text.split(separator: "\n").filter { line in
            families.contains { line.hasPrefix($0 + "_bucket") || line.hasPrefix($0 + "_sum") || line.hasPrefix($0 + "_count") }
        }.joined(separator: "\n") + "\n"
    }
}
