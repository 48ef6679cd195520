import Foundation
import PerfJSON
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A directory of its own for one test, removed afterwards by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("perfmond-ops-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `count` provider calls as NDJSON (three models, so several series).
func providerCalls(_ count: Int, provider: String = "openai") -> [UInt8] {
    Array((0..<count).map { index in
        #"{"type":"provider_request","provider":"\#(provider)","model":"m\#(index % 3)","duration_ms":\#(100 + index % 50),"success":true,"cost_usd":0.001}"#
    }.joined(separator: "\n").utf8)
}

extension DaemonProcess {
    func post(_ body: [UInt8], headers: [(String, String)] = []) throws -> HTTPReply {
        try RawHTTPClient(port: port).request("POST", "/events", headers: [("Content-Type", "application/x-ndjson")] + headers, body: body)
    }

    func json(_ target: String, headers: [(String, String)] = []) throws -> JSONValue {
        let reply = try RawHTTPClient(port: port).get(target, headers: headers)
        guard reply.status == 200 else { throw ClientError("\(target): \(reply.status) \(reply.text)") }
        return try JSONParser.parse(reply.body)
    }

    /// Calls counted over every provider since first seen.
    func providerTotal() throws -> Double {
        try json("/performance/providers").at("summary", "total_requests")?.numberValue ?? -1
    }

}

/// Snapshots, shutdown, reload: the daemon restarted, killed and signalled as operators do.
@Suite struct PersistenceTests {
    @Test func countersAndWindowsContinueAfterARestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state.bin").path
        let first = try await DaemonProcess.launch(["--config", try writeTemporary("state_file: \(state)\n")])
        let (before, metricsBefore) = try await onThread {
            #expect(try first.post(providerCalls(300)).status == 202)
            #expect(try first.post(providerCalls(20, provider: "anthropic")).status == 202)
            return (try first.json("/performance/providers?window=5m"), try RawHTTPClient(port: first.port).get("/metrics").text)
        }
        #expect(try await first.halt()?.status == 0)
        #expect(FileManager.default.fileExists(atPath: state))
        #expect(metricsBefore.contains("perfmond_events_received_total{route=\"events\"} 320"))

        let second = try await DaemonProcess.launch(["--config", try writeTemporary("state_file: \(state)\n")])
        let (after, metricsAfter) = try await onThread {
            (try second.json("/performance/providers?window=5m"), try RawHTTPClient(port: second.port).get("/metrics").text)
        }
        #expect(second.log.contains("snapshot restored"))
        for provider in ["openai", "anthropic"] {
            for key in ["total_requests", "p95_response_time_ms", "total_cost_usd", "average_response_time_ms"] {
                let old = before.at("providers", provider, key)?.numberValue, new = after.at("providers", provider, key)?.numberValue
                #expect(old != nil && new == old, "\(provider) \(key)")
            }
        }
        #expect(metricsAfter.contains("perfmond_events_received_total{route=\"events\"} 320"), "counters continue")
        #expect(try await second.halt()?.status == 0)
    }

    @Test func aDamagedSnapshotIsMovedAsideAndTheDaemonStartsFresh() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state.bin").path
        try Data("state written by something else".utf8).write(to: URL(fileURLWithPath: state))
        let daemon = try await DaemonProcess.launch(["--config", try writeTemporary("state_file: \(state)\n")])
        #expect(daemon.log.contains("damaged snapshot"), "\(daemon.log)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.contains { $0.hasPrefix("state.bin.corrupt-") }, "\(files)")
        #expect(try await onThread { try daemon.providerTotal() } == 0)
        let memory = try await onThread { try daemon.json("/performance/memory") }
        #expect(memory.at("persistence", "moved_aside")?.numberValue == 1)
        #expect(try await daemon.halt()?.status == 0)
        #expect(FileManager.default.fileExists(atPath: state), "the shutdown wrote a good snapshot in its place")
    }

    /// A daemon with a state file written every second, loaded by `load`, killed with SIGKILL (no
    /// last snapshot), and started again on the same file; the caller stops the restarted one.
    func restartedAfterKillNine(_ directory: URL, load: @escaping @Sendable (DaemonProcess) throws -> Void) async throws -> DaemonProcess {
        let state = directory.appendingPathComponent("state.bin").path
        let config = try writeTemporary("state_file: \(state)\nsnapshot_interval: 1s\n")
        let daemon = try await DaemonProcess.launch(["--config", config])
        try await onThread { try load(daemon) }
        #expect(try await daemon.halt(signal: SIGKILL)?.status == SIGKILL)
        return try await DaemonProcess.launch(["--config", config])
    }

    @Test func killNineLosesAtMostOneSnapshotInterval() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let restarted = try await restartedAfterKillNine(directory) { daemon in
            #expect(try daemon.post(providerCalls(100)).status == 202)
            // Wait for a snapshot written after the post.
            let posted = Date().timeIntervalSince1970
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let last = try daemon.json("/performance/memory").at("persistence", "last_write")?.numberValue, last > posted { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(try daemon.post(providerCalls(50)).status == 202)
        }
        let total = try await onThread { try restarted.providerTotal() }
        #expect(total >= 100 && total <= 150, "\(total)")
        #expect(try await restarted.halt()?.status == 0)
    }

    /// After a kill -9 under load, the restored events counter and the restored store agree: both
    /// come from the same instant of the last snapshot (issue 24, item 14).
    @Test func afterKillNineTheCounterAndTheStoreAgree() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let restarted = try await restartedAfterKillNine(directory) { daemon in
            let deadline = Date().addingTimeInterval(2.5)
            while Date() < deadline { _ = try daemon.post(providerCalls(200)) }
        }
        let (stored, counted) = try await onThread { () throws -> (Double, Double?) in
            let metrics = try RawHTTPClient(port: restarted.port).get("/metrics").text
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("perfmond_events_received_total{route=\"events\"} ") }
            return (try restarted.providerTotal(), line.flatMap { Double($0.split(separator: " ")[1]) })
        }
        #expect(stored > 0 && counted == stored, "restored: \(stored) events in the store, \(counted ?? -1) counted as received")
        #expect(try await restarted.halt()?.status == 0)
    }

    /// A stop whose last snapshot cannot be written exits 1 and says so (systemd shows the unit
    /// failed), instead of 0 (issue 24, item 13).
    @Test func aStopThatCannotWriteItsSnapshotExitsOne() async throws {
        let config = try writeTemporary("state_file: /nonexistent/perfmond/state.bin\n")
        let daemon = try await DaemonProcess.launch(["--config", config])
        #expect(try await onThread { try daemon.post(providerCalls(10)).status } == 202)
        #expect(try await daemon.halt()?.status == 1)
        #expect(daemon.log.contains("the last snapshot could not be written"), "\(daemon.log)")
    }

    @Test func sigtermUnderLoadLosesNoAcceptedEvent() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let state = directory.appendingPathComponent("state.bin").path
        let config = try writeTemporary("state_file: \(state)\n")
        let daemon = try await DaemonProcess.launch(["--config", config])
        let port = daemon.port
        let stopClients = Atomic<Bool>(false)
        let batch = providerCalls(10)
        async let accepted = try onThreads(32) { _ -> Int in
            var count = 0
            let deadline = Date().addingTimeInterval(20)
            var client: RawHTTPClient?
            while !stopClients.load(ordering: .relaxed), Date() < deadline {
                do {
                    if client == nil { client = try RawHTTPClient(port: port) }
                    let reply = try client!.request("POST", "/events", headers: [("Content-Type", "application/x-ndjson")], body: batch)
                    if reply.status == 202 { count += 10 }
                    if reply.header("Connection")?.lowercased() == "close" { client = nil }
                } catch {
                    client = nil
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            return count
        }
        try await Task.sleep(for: .milliseconds(1500))
        let stopped = try await daemon.halt()
        stopClients.store(true, ordering: .relaxed)
        let clientCount = try await accepted.reduce(0, +)
        #expect(stopped?.status == 0, "\(daemon.log.suffix(2000))")
        #expect((stopped?.seconds ?? 99) < 5, "stopped in \(stopped?.seconds ?? -1) s")
        #expect(clientCount > 1000)
        let restarted = try await DaemonProcess.launch(["--config", config])
        let restoredTotal = try await onThread { try restarted.providerTotal() }
        #expect(restoredTotal == Double(clientCount), "202-accepted \(clientCount), restored \(restoredTotal)")
        #expect(try await restarted.halt()?.status == 0)
    }
}
