import AlertSinks
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MicroHTTPD
import PerfJSON
import PerfMonitor
import Synchronization
import Testing
import TestSupport

func alert(_ state: Alert.State, severity: Severity = .warning, value: Double = 85.5, since: Double = 1_800_000_000) -> Alert {
    Alert(id: "memory_pressure:warning:80", metric: .memoryPressure, scope: [("provider", "openai"), ("model", "gpt-4o")], state: state,
          severity: severity, currentValue: value, threshold: 80, comparison: .greater,
          message: "High memory pressure detected (\(JSONNumber.rounded(value))%)", since: since,
          resolvedAt: state == .resolved ? since + 60 : nil)
}

/// A local HTTP receiver that records the bodies POSTed to it, answering 500 to the first `failures`.
final class Receiver: Sendable {
    /// What the receiver saw, shared with its route.
    final class Record: Sendable {
        let bodies = Mutex<[String]>([])
        let attempts = Mutex(0)
    }

    let server: HTTPServer
    let record = Record()
    var attempts: Int { record.attempts.withLock { $0 } }
    var bodies: [String] { record.bodies.withLock { $0 } }

    init(failures: Int) throws {
        var router = Router()
        let record = self.record
        router.add("POST", "/hook", handler: .sync { request in
            let attempt = record.attempts.withLock { $0 += 1; return $0 }
            guard attempt > failures else { return .error(500, "not yet") }
            record.bodies.withLock { $0.append(String(decoding: request.body, as: UTF8.self)) }
            return Response(status: 204)
        })
        server = HTTPServer(configuration: ServerConfiguration(), router: router, logger: Logger(label: "receiver"))
        try server.start()
    }

    var url: URL { URL(string: "http://127.0.0.1:\(server.port)/hook")! }
}

/// Runs `body` with a receiver and stops its server afterwards, whether `body` returns or throws.
func withReceiver(failures: Int, _ body: (Receiver) async throws -> Void) async throws {
    try await withStopping(try Receiver(failures: failures), { await $0.server.shutdown() }, body)
}

@Suite struct AlertSinksTests {
    @Test func fileSinkWritesSeedFieldsAndRotates() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString).jsonl").path
        let sink = FileSink(path: path, maxBytes: 600)
        try await sink.deliver(AlertBatch(transitions: [alert(.firing)], firing: [], time: 0))
        let first = try String(contentsOfFile: path, encoding: .utf8)
        #expect(first == #"{"timestamp":"2027-01-15T08:00:00.000Z","severity":"warning","component":"openai/gpt-4o","message":"High memory pressure detected (85.5%)","current_value":85.5,"threshold":80,"state":"firing","metric":"memory_pressure"}"# + "\n")
        for _ in 0..<4 { try await sink.deliver(AlertBatch(transitions: [alert(.resolved)], firing: [], time: 0)) }
        // About 220 bytes a line, at most 600 a file, one rotated file kept: 2 lines there, 1 here.
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let current = try String(contentsOfFile: path, encoding: .utf8)
        #expect(rotated.split(separator: "\n").count == 2)
        #expect(current.split(separator: "\n").count == 1)
        #expect(rotated.utf8.count <= 600 && current.utf8.count <= 600)
        #expect(current.contains(#""state":"resolved""#))
    }

    /// Seed 000's handler pages on `severity == "critical"`: a critical alert's resolution must
    /// not page again (issue 23, item 11). The file says `info`, the alert's own severity beside it.
    @Test func aResolutionInTheFileIsNotCritical() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = FileSink(path: path, maxBytes: 1 << 20)
        try await sink.deliver(AlertBatch(transitions: [alert(.firing, severity: .critical), alert(.resolved, severity: .critical)], firing: [], time: 0))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
        // What seed 000's handler does with each line: page when the severity is critical.
        let pages = lines.filter { $0["severity"]?.stringValue == "critical" }
        #expect(pages.count == 1 && pages.first?["state"]?.stringValue == "firing")
        #expect(lines.last?["severity"]?.stringValue == "info")
        #expect(lines.last?["alert_severity"]?.stringValue == "critical")
        #expect(lines.last?["message"]?.stringValue == "Resolved: High memory pressure detected (85.5%)")
    }

    @Test func webhookIsRetriedWithBackoffUntilDelivered() async throws {
        try await withReceiver(failures: 2) { receiver in
            let dispatcher = AlertDispatcher(sinks: [WebhookSink(url: receiver.url, timeout: .seconds(5))], retries: 3,
                                             backoff: .milliseconds(20), logger: Logger(label: "test"))
            let running = Task { await dispatcher.run() }
            dispatcher.submit(AlertBatch(transitions: [alert(.firing)], firing: [alert(.firing)], time: 0))
            try await waitUntil { dispatcher.current["webhook"]?.delivered == 1 }
            dispatcher.finish()
            await running.value
            #expect(dispatcher.current["webhook"] == AlertDispatcher.Counts(delivered: 1, failed: 0, dropped: 0))
            #expect(receiver.attempts == 3)
            let body = try JSONParser.parse(Array(try #require(receiver.bodies.first).utf8))
            #expect(body["source"] == .string("perfmond"))
            guard case let .array(alerts)? = body["alerts"] else { Issue.record("no alerts"); return }
            #expect(alerts.first?["message"] == .string("High memory pressure detected (85.5%)"))
        }
    }

    @Test func anUnreachableWebhookIsCountedAndBlocksNothing() async throws {
        let receiver = try Receiver(failures: 0)
        let url = receiver.url
        await receiver.server.shutdown()  // nothing listens there any more
        let dispatcher = AlertDispatcher(sinks: [WebhookSink(url: url, timeout: .seconds(2))], queueCapacity: 2, retries: 1,
                                         backoff: .milliseconds(10), logger: Logger(label: "test"))
        let running = Task { await dispatcher.run() }
        let clock = ContinuousClock()
        let took = clock.measure {
            for _ in 0..<10 { dispatcher.submit(AlertBatch(transitions: [alert(.firing)], firing: [], time: 0)) }
        }
        #expect(took < .milliseconds(100), "submitting never waits for delivery")
        try await waitUntil { (dispatcher.current["webhook"].map { $0.failed + $0.dropped } ?? 0) == 10 }
        let counts = try #require(dispatcher.current["webhook"])
        #expect(counts.delivered == 0)
        #expect(counts.failed + counts.dropped == 10)
        #expect(counts.dropped >= 7, "a queue of 2 while the first delivery is being retried")
        dispatcher.finish()
        await running.value
    }

    @Test func alertmanagerReceivesFiringAndResolved() async throws {
        let binary = "/usr/bin/prometheus-alertmanager"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "make test installs Debian's prometheus-alertmanager")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alertmanager-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("alertmanager.yml")
        try "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n".write(to: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config.file=\(config.path)", "--storage.path=\(directory.path)",
                             "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { stop(process) }
        let base = URL(string: "http://127.0.0.1:\(port)")!
        let sink = AlertmanagerSink(baseURL: base, timeout: .seconds(5))
        // Alertmanager refuses alerts that start in the future: these start a minute ago, in real time.
        let started = Date().timeIntervalSince1970 - 120
        // Alertmanager takes a moment to listen: retry the first delivery.
        var delivered = false
        for _ in 0..<100 where !delivered {
            delivered = (try? await sink.deliver(AlertBatch(transitions: [alert(.firing, since: started)], firing: [alert(.firing, since: started)], time: 0))) != nil
            if !delivered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(delivered)
        let active = try await alertNames(base, active: true)
        #expect(active == ["PerfmondMemoryPressure"])
        try await sink.deliver(AlertBatch(transitions: [alert(.resolved, since: started)], firing: [], time: 100))
        #expect(try await alertNames(base, active: true).isEmpty, "resolved: no longer active")
    }

    /// Stops a child for good: SIGTERM, then SIGKILL if it has not exited within 5 s.
    func stop(_ process: Process) {
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func alertNames(_ base: URL, active: Bool) async throws -> [String] {
        let (data, _) = try await URLSession.shared.data(from: base.appendingPathComponent("api/v2/alerts"))
        guard case let .array(alerts) = try JSONParser.parse(Array(data)) else { return [] }
        return alerts.compactMap { alert in
            guard case let .string(state)? = alert["status"]?["state"], state == "active" || !active,
                  case let .string(name)? = alert["labels"]?["alertname"] else { return nil }
            return name
        }
    }

    func freePort() throws -> Int {
        let probe = HTTPServer(configuration: ServerConfiguration(), router: Router(), logger: Logger(label: "probe"))
        try probe.start()
        let port = probe.port
        let stopped = Mutex(false)
        Task { await probe.shutdown(); stopped.withLock { $0 = true } }
        while !stopped.withLock({ $0 }) { usleep(1000) }
        return port
    }
}
