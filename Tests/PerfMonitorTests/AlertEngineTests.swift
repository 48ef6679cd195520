import Foundation
import PerfMonitor
import Testing
import TestSupport

/// An engine over a real store and monitor, with a clock the test moves.
struct AlertBench {
    let clock = ManualClock()
    let store: MetricsStore
    let monitor = SystemMonitor(retention: .seconds(86_400), interval: .seconds(5))
    let rules: AlertRules
    let engine: AlertEngine

    init(_ thresholds: [AlertThreshold], degradation: DegradationAlert = DegradationAlert()) {
        store = MetricsStore(clock: clock)
        rules = AlertRules(thresholds)
        engine = AlertEngine(rules: rules, store: store, monitor: monitor, clock: clock, degradation: degradation)
    }

    func calls(_ count: Int, ms: Double, provider: String = "openai", model: String = "gpt-4o", ago: Double = 0) async {
        await store.ingest((0..<count).map { _ in providerCall(provider, model, at: clock.now() - ago, ms: ms) })
    }

    /// Moves the clock and evaluates, as the maintenance timer does.
    func tick(_ seconds: Double = 0) async {
        clock.advance(by: seconds)
        await store.maintain()
        await engine.evaluate()
    }
}

func latency(over threshold: Double, _ severity: Severity = .warning, for seconds: Double = 0,
             cooldown: Double = 60, minSamples: Int = 5, scope: AlertThreshold.Scope = .init()) -> AlertThreshold {
    var rule = AlertThreshold(metric: .responseTimeMs, comparison: .greater, threshold: threshold, severity: severity)
    rule.forSeconds = seconds
    rule.cooldownSeconds = cooldown
    rule.minSamples = minSamples
    rule.scope = scope
    return rule
}

@Suite struct AlertEngineTests {
    @Test func pendsForItsForSecondsThenFires() async {
        let bench = AlertBench([latency(over: 1000, for: 60)])
        await bench.calls(10, ms: 2000)
        await bench.tick()
        #expect(bench.engine.snapshot.firing.isEmpty, "pending, not firing yet")
        await bench.tick(30)
        #expect(bench.engine.snapshot.firing.isEmpty)
        await bench.tick(31)
        let firing = bench.engine.snapshot.firing
        #expect(firing.count == 1)
        #expect(firing.first?.state == .firing)
        #expect(firing.first?.scope.map(\.1) == ["openai", "gpt-4o"])
        #expect(firing.first?.currentValue == 2000)
        #expect(firing.first?.text == "[warning] response_time_ms (p95 over 5m) of openai/gpt-4o is 2000, > 1000")
        #expect(bench.engine.snapshot.systemHealth == "degraded")
        #expect(bench.engine.snapshot.recent.map(\.state) == [.firing])
    }

    @Test func resolvesWhenTheConditionStopsAndKeepsTheHistory() async {
        let bench = AlertBench([latency(over: 1000, .critical)])
        await bench.calls(10, ms: 2000)
        await bench.tick()
        #expect(bench.engine.snapshot.systemHealth == "critical")
        await bench.tick(400)  // the slow calls leave the 5-minute window
        let snapshot = bench.engine.snapshot
        #expect(snapshot.firing.isEmpty)
        #expect(snapshot.systemHealth == "healthy")
        #expect(snapshot.recent.map(\.state) == [.resolved, .firing])
        #expect(snapshot.recent.first?.resolvedAt == bench.clock.now())
    }

    @Test func cooldownHoldsBackARefire() async {
        let bench = AlertBench([latency(over: 1000, cooldown: 600)])
        await bench.calls(10, ms: 2000)
        await bench.tick()
        await bench.tick(400)
        #expect(bench.engine.snapshot.firing.isEmpty)
        await bench.calls(10, ms: 2000)
        await bench.tick(10)
        #expect(bench.engine.snapshot.firing.isEmpty, "10 s after resolving, inside the 600 s cooldown")
        bench.clock.advance(by: 590)
        await bench.calls(10, ms: 2000)
        await bench.tick()
        #expect(bench.engine.snapshot.firing.count == 1, "600 s after resolving")
    }

    @Test func scopeAndMinSamplesChooseTheSeries() async {
        let bench = AlertBench([latency(over: 1000, minSamples: 10, scope: .init(provider: "anthropic"))])
        await bench.calls(20, ms: 3000, provider: "openai")
        await bench.calls(5, ms: 3000, provider: "anthropic", model: "claude")
        await bench.tick()
        #expect(bench.engine.snapshot.firing.isEmpty, "openai is out of scope; anthropic has 5 samples of the 10 needed")
        await bench.calls(5, ms: 3000, provider: "anthropic", model: "claude")
        await bench.tick()
        #expect(bench.engine.snapshot.firing.map { $0.scope.map(\.1) } == [["anthropic", "claude"]])
    }

    @Test func unscopedThresholdsWatchEveryProviderAndEndpoint() async {
        var rule = AlertThreshold(metric: .errorRatePercent, comparison: .greater, threshold: 5, severity: .warning)
        rule.minSamples = 10
        let bench = AlertBench([rule])
        await bench.store.ingest((0..<20).map { index in
            // Built directly, not decoded: success is set as the decoder would from the status.
            event(.request, at: bench.clock.now()) { $0.endpoint = "/v1/chat"; $0.method = "POST"; $0.statusCode = index < 4 ? 500 : 200; $0.success = index >= 4 }
        })
        await bench.calls(20, ms: 100)
        await bench.tick()
        let firing = bench.engine.snapshot.firing
        #expect(firing.map { $0.scope.map(\.1) } == [["/v1/chat", "POST"]])
        #expect(firing.first?.currentValue == 20)
    }

    @Test func sampledMetricsUseTheLatestSample() async {
        let bench = AlertBench(AlertThreshold.defaults)
        var memory = ProcessMemory()
        memory.pressurePercent = 85.5
        bench.monitor.record(ProcessSample(time: bench.clock.now(), memory: memory, cpuPercent: 10))
        await bench.tick()
        let firing = bench.engine.snapshot.firing
        #expect(firing.map(\.text) == ["[warning] High memory pressure detected (85.5%)"])
        #expect(bench.engine.snapshot.systemHealth == "degraded")
        memory.pressurePercent = 96
        bench.monitor.record(ProcessSample(time: bench.clock.now() + 5, memory: memory, cpuPercent: 97))
        await bench.tick(5)
        #expect(Set(bench.engine.snapshot.firing.map(\.text)) == [
            "[critical] High memory pressure detected (96%)", "[warning] High memory pressure detected (96%)",
            "[critical] High CPU use (97%)", "[warning] High CPU use (97%)",
        ])
        #expect(bench.engine.snapshot.systemHealth == "critical")
    }

    @Test func detectsDegradationAgainstThePreviousHour() async {
        let bench = AlertBench([])
        await bench.calls(30, ms: 100, ago: 1800)
        await bench.calls(30, ms: 400)
        await bench.tick()
        let firing = bench.engine.snapshot.firing
        #expect(firing.map(\.metric) == [.responseTimeDegradation])
        #expect(firing.first?.text == "[warning] Performance degradation of openai/gpt-4o: p95 400 ms over the last 5m against 100 ms in the 1h before")
    }

    /// Seed 002 lets the degradation rule be tuned or turned off (issue 23, item 10): the same
    /// fourfold rise fires nothing when it is off, or when the ratio asks for five times.
    @Test func theDegradationRuleIsConfigurable() async {
        var off = DegradationAlert()
        off.enabled = false
        var stricter = DegradationAlert()
        stricter.ratio = 5
        var shorter = DegradationAlert()
        shorter.detection = Degradation(minimumSamples: 10, recent: .seconds(60), baseline: .seconds(600))
        for (setting, fires) in [(off, false), (stricter, false), (shorter, false), (DegradationAlert(), true)] {
            let bench = AlertBench([], degradation: setting)
            await bench.calls(30, ms: 100, ago: 1800)  // outside a 10-minute baseline
            await bench.calls(30, ms: 400)
            await bench.tick()
            #expect(bench.engine.snapshot.firing.contains { $0.metric == .responseTimeDegradation } == fires, "\(setting)")
        }
    }

    @Test func thresholdsPostedAtRunTimeApplyAtTheNextEvaluation() async {
        let bench = AlertBench([])
        await bench.calls(10, ms: 2000)
        await bench.tick()
        #expect(bench.engine.snapshot.firing.isEmpty)
        bench.rules.replace(with: [latency(over: 1000)])
        await bench.tick()
        #expect(bench.engine.snapshot.firing.count == 1)
    }
}

@Suite struct SystemMonitorTests {
    @Test func samplesAgreeWithProc() throws {
        let monitor = SystemMonitor(retention: .seconds(3600), interval: .seconds(5))
        let sample = monitor.sample(at: 1000)
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]))
        #expect(abs(sample.memory.rssBytes - kilobytes * 1024) / (kilobytes * 1024) < 0.2)
        #expect(sample.memory.heapUsedBytes > 0)
        #expect(sample.memory.pageFaults > 0)
        #expect((0...100).contains(sample.memory.pressurePercent))
        if FileManager.default.fileExists(atPath: "/proc/pressure/memory") { #expect(sample.memory.stallPercent != nil) }
        #expect(monitor.trends?.hoursAnalyzed == 0)
        #expect(monitor.trends?.pressureTrend == "stable")
    }

    @Test func trendsComeFromASlope() {
        let monitor = SystemMonitor(retention: .seconds(86_400), interval: .seconds(60))
        for minute in 0...120 {
            var memory = ProcessMemory()
            memory.pressurePercent = 40 + Double(minute) / 10  // +6 points an hour
            memory.heapUsedBytes = Double(1_000_000 + minute * 1000)
            monitor.record(ProcessSample(time: Double(minute * 60), memory: memory, cpuPercent: 1))
        }
        let trends = monitor.trends
        #expect(trends?.hoursAnalyzed == 2)
        #expect(trends?.pressureTrend == "increasing")
        #expect(trends?.minHeapBytes == 1_000_000)
        #expect(trends?.maxHeapBytes == 1_120_000)
        #expect(trends?.averageHeapBytes == 1_060_000)
    }

    @Test func theRingKeepsTheRetention() {
        let monitor = SystemMonitor(retention: .seconds(60), interval: .seconds(5))
        for second in stride(from: 0, to: 300, by: 5) {
            monitor.record(ProcessSample(time: Double(second), memory: ProcessMemory(), cpuPercent: 0))
        }
        #expect(monitor.trends?.hoursAnalyzed == 55.0 / 3600, "12 samples of 5 s kept")
        #expect(monitor.latest?.time == 295)
    }
}

/// A threshold's spelled id is always one a URL path can carry (issue 23, item 10).
@Suite struct ThresholdIDTests {
    @Test func spelledIDsStayInTheirAlphabetAndLength() {
        var rule = AlertThreshold(metric: .responseTimeMs, comparison: .greater, threshold: 2000, severity: .warning,
                                  scope: AlertThreshold.Scope(endpoint: "/v1/chat completions"))
        #expect(rule.id == "response_time_ms.p95.5m.gt.2000.warning.endpoint=_v1_chat_completions")
        rule.scope = AlertThreshold.Scope(provider: String(repeating: "p", count: 256))
        let long = rule.id
        rule.scope = AlertThreshold.Scope(provider: String(repeating: "p", count: 255) + "q")
        #expect(long.utf8.count <= 256 && rule.id.utf8.count <= 256 && long != rule.id, "cut, and still apart")
        rule.configuredID = "mine"
        #expect(rule.id == "mine" && rule.derivedID != "mine")
    }
}
