import ArgumentParser
import Foundation
import PerfJSON
import PerfMonitor

/// `perfmond loadgen`: realistic LLM-gateway traffic at a given rate for a given time — provider
/// calls over several providers and models with log-normal latencies, time to first token,
/// tokens, cost, errors and rate limits, plus the gateway endpoint, a router component and cache
/// lookups — sent in batches every 100 ms. Bounded in time and count; reports what was accepted.
public struct Loadgen: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Generate realistic LLM-gateway events against a daemon (load test, demo data).",
        discussion: """
            Each provider call also produces the gateway request around it, a routing operation and
            a cache lookup, so one call is about four events; --rate counts provider calls.
            Example: perfmond loadgen --rate 200 --duration 30s
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "Provider calls per second (1 to 200000).")
    var rate = 100

    @Option(help: "How long to run (at most 1h).")
    var duration = "10s"

    @Option(help: "Stop after this many provider calls (default: rate × duration).")
    var maxCalls: Int?

    @Option(help: "Share of calls that fail (0 to 1).")
    var errorRate = 0.03

    @Option(help: "Seed of the random generator (the same seed gives the same traffic).")
    var seed: UInt64 = 1

    public func validate() throws {
        guard (1...200_000).contains(rate) else { throw ValidationError("--rate must be from 1 to 200000") }
        guard let span = TimeSpan.parse(duration), span.milliseconds > 0, span <= .seconds(3600) else {
            throw ValidationError("--duration must be from 1ms to 1h, like 30s or 5m")
        }
        guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate must be from 0 to 1") }
        if let maxCalls, maxCalls < 1 { throw ValidationError("--max-calls must be at least 1") }
    }

    public func run() async throws {
        let client = try daemon.client()
        let seconds = TimeSpan.parse(duration)!.seconds
        let budget = maxCalls ?? Int((Double(rate) * seconds).rounded(.up))
        var traffic = GatewayTraffic(seed: seed, errorRate: errorRate)
        var totals = SendTotals()
        var refused = 0
        let clock = ContinuousClock()
        let start = clock.now
        var calls = 0
        var tick = 0
        while calls < budget, (clock.now - start) < .milliseconds(Int64(seconds * 1000)) {
            tick += 1
            // Calls due by the end of this tick, so that a slow POST is caught up on the next one.
            let due = min(budget, Int(Double(rate) * Double(tick) / 10))
            if due > calls {
                var lines: [String] = []
                for _ in calls..<due { lines += traffic.call(at: Date().timeIntervalSince1970) }
                calls = due
                // At most 1,000 events a POST: well under the default body limit and queue.
                for chunkStart in stride(from: 0, to: lines.count, by: 1000) {
                    let chunk = lines[chunkStart..<min(chunkStart + 1000, lines.count)]
                    do {
                        let reply = try await client.post("/events", body: Data(chunk.joined(separator: "\n").utf8), contentType: "application/x-ndjson")
                        totals.batches += 1
                        if reply.status == 202 || reply.status == 400 {
                            totals.count(reply, sent: chunk.count)
                        } else {
                            refused += chunk.count
                            if reply.status == 401 { failTool("POST /events answered 401: give --token or --token-file") }
                        }
                    } catch {
                        refused += chunk.count
                    }
                }
            }
            let next = start + .milliseconds(100 * tick)
            if next > clock.now { try await Task.sleep(until: next) }
        }
        let elapsedSeconds = (clock.now - start).seconds
        print("provider calls \(calls) in \(Table.number(elapsedSeconds)) s (\(Table.number(Double(calls) / max(elapsedSeconds, 0.001)))/s); "
            + "events accepted \(totals.accepted), rejected \(totals.rejected), refused \(refused) (queue full, shutting down or unreachable)")
        if totals.rejected > 0 || refused > 0 { throw ExitCode.failure }
    }
}

/// The synthetic gateway: which providers and models, how fast, how often they fail, what they cost.
public struct GatewayTraffic {
    struct Model {
        let provider: String
        let name: String
        /// Median latency in ms, and the log-normal spread.
        let medianMs: Double
        let sigma: Double
        /// USD per 1,000 input and output tokens.
        let inputPrice: Double
        let outputPrice: Double
        /// Share of the traffic.
        let weight: Double
    }

    /// How many provider × model pairs the traffic spreads over.
    public static var modelCount: Int { models.count }

    static let models = [
        Model(provider: "openai", name: "gpt-4o", medianMs: 900, sigma: 0.45, inputPrice: 0.0025, outputPrice: 0.01, weight: 0.3),
        Model(provider: "openai", name: "gpt-4o-mini", medianMs: 450, sigma: 0.4, inputPrice: 0.00015, outputPrice: 0.0006, weight: 0.25),
        Model(provider: "anthropic", name: "claude-sonnet-4", medianMs: 1100, sigma: 0.5, inputPrice: 0.003, outputPrice: 0.015, weight: 0.2),
        Model(provider: "anthropic", name: "claude-haiku", medianMs: 500, sigma: 0.4, inputPrice: 0.0008, outputPrice: 0.004, weight: 0.1),
        Model(provider: "google", name: "gemini-2.0-flash", medianMs: 600, sigma: 0.5, inputPrice: 0.0001, outputPrice: 0.0004, weight: 0.15),
    ]

    private var random: SeededRandom
    let errorRate: Double
    private var sequence = 0

    public init(seed: UInt64, errorRate: Double) {
        random = SeededRandom(seed: seed)
        self.errorRate = errorRate
    }

    /// The NDJSON lines of one provider call and what surrounds it in a gateway.
    public mutating func call(at now: Double) -> [String] {
        sequence += 1
        var pick = random.unit()
        let model = Self.models.first { pick -= $0.weight; return pick < 0 } ?? Self.models[0]
        let latency = model.medianMs * exp(model.sigma * random.normal())
        let ttft = latency * min(0.9, 0.18 * exp(0.3 * random.normal()))
        let inputTokens = Int(700 * exp(0.6 * random.normal()))
        let outputTokens = Int(220 * exp(0.5 * random.normal()))
        let cost = (Double(inputTokens) * model.inputPrice + Double(outputTokens) * model.outputPrice) / 1000
        let roll = random.unit()
        let rateLimited = roll < errorRate / 3
        let failed = roll < errorRate
        let status = rateLimited ? 429 : failed ? [500, 503, 504][sequence % 3] : 200
        let errorType = rateLimited ? "rate_limit" : failed ? ["server_error", "overloaded", "timeout"][sequence % 3] : nil
        let stamp = JSONNumber.format((now * 1000).rounded() / 1000)
        var lines: [String] = []
        var call = #"{"type":"provider_request","timestamp":\#(stamp),"provider":"\#(model.provider)","model":"\#(model.name)","#
            + #""duration_ms":\#(JSONNumber.rounded(latency)),"status_code":\#(status),"success":\#(!failed)"#
        if failed {
            call += #","error_type":"\#(errorType!)"}"#
        } else {
            call += #","ttft_ms":\#(JSONNumber.rounded(ttft)),"input_tokens":\#(inputTokens),"output_tokens":\#(outputTokens),"cost_usd":\#(JSONNumber.format((cost * 1e6).rounded() / 1e6))}"#
        }
        lines.append(call)
        if rateLimited {
            lines.append(#"{"type":"rate_limit_hit","timestamp":\#(stamp),"provider":"\#(model.provider)","model":"\#(model.name)"}"#)
        }
        lines.append(#"{"type":"request","timestamp":\#(stamp),"endpoint":"/v1/chat/completions","method":"POST","duration_ms":\#(JSONNumber.rounded(latency + 15 + 10 * random.unit())),"status_code":\#(status)}"#)
        lines.append(#"{"type":"operation","timestamp":\#(stamp),"component":"router","operation":"route","duration_ms":\#(JSONNumber.rounded(1.5 * exp(0.4 * random.normal())))}"#)
        lines.append(#"{"type":"\#(random.unit() < 0.35 ? "cache_hit" : "cache_miss")","timestamp":\#(stamp),"component":"prompt_cache"}"#)
        return lines
    }
}
