import Foundation
import PerfJSON
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The StatsD listeners of the real binary (api.md §6.3): datagrams and TCP streams in, JSON and
/// `/metrics` out, reloads, refusals and stops.
@Suite struct StatsDListenerTests {
    static let onFreePorts = ["PERFMOND_STATSD_LISTEN": "127.0.0.1:0"]

    func launch(_ config: String = "", environment: [String: String] = [:]) async throws -> (DaemonProcess, udp: Int, tcp: Int) {
        let file = try writeTemporary(config)
        let daemon = try await DaemonProcess.launch(["--config", file], environment: Self.onFreePorts.merging(environment) { $1 })
        let ports = try #require(daemon.statsdPorts, "the listening line names the StatsD ports: \(daemon.log)")
        return (daemon, ports.udp, ports.tcp)
    }

    /// `perfmond_statsd_lines_total` by outcome, read from `/metrics`.
    func lines(_ daemon: DaemonProcess) throws -> [String: Double] {
        let text = try RawHTTPClient(port: daemon.port).get("/metrics").text
        var found: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("perfmond_statsd_lines_total{") {
            let outcome = line.split(separator: "\"")[1]
            found[String(outcome)] = Double(line.split(separator: " ").last!)
        }
        return found
    }

    func series(_ daemon: DaemonProcess, _ name: String) throws -> [JSONValue] {
        try daemon.json("/performance/metrics?name=\(name)").at("metrics", name, "series")?.arrayValue ?? []
    }

    @Test func linesOverUDPAndTCPAreCountedByTheNextQuery() async throws {
        let (daemon, udp, tcp) = try await launch()
        try await onThread {
            try StatsDSender.datagram("app.requests:1|c|#route:chat\napp.requests:2|c|@0.5|#route:chat\napp.latency:812|ms\nusers:ann|s\nusers:bob|s\nusers:ann|s", port: udp)
            let stream = try StatsDSender.Stream(port: tcp)
            try stream.send("tcp.hits:3|c\ntcp.split:")
            try stream.send("4|c\n")
            try stream.send(String(repeating: "x", count: 9000))  // a line that never ends…
            try stream.send("\ntcp.after:1|c\n")  // …until here; the next line is read
            // No wait: the query asks the listener for what it received first.
            let requests = try series(daemon, "app.requests")
            #expect(requests.count == 1 && requests[0].at("count")?.numberValue == 3 && requests[0].at("sum")?.numberValue == 5,
                    "1 + 2 at a rate of 0.5: \(requests)")
            #expect(try series(daemon, "app.latency").first?.at("p95")?.numberValue.map { abs($0 - 812) / 812 < 0.01 } == true)
            #expect(try series(daemon, "users").first?.at("distinct")?.numberValue == 2)
            #expect(try series(daemon, "tcp.hits").first?.at("sum")?.numberValue == 3)
            #expect(try series(daemon, "tcp.split").first?.at("sum")?.numberValue == 4, "a line split across writes is one line")
            #expect(try series(daemon, "tcp.after").first?.at("sum")?.numberValue == 1)
            let counted = try lines(daemon)
            #expect(counted["accepted"] == 9 && counted["too_long"] == 1, "\(counted)")
            let text = try RawHTTPClient(port: daemon.port).get("/metrics").text
            #expect(text.contains(#"app_requests_total{route="chat"} 5"#))
            #expect(text.contains("app_latency_seconds_count 1"))
            #expect(text.contains("perfmond_statsd_tcp_connections 1"))
        }
        try await daemon.halt()
    }

    @Test func everyBadFormIsCountedAndChangesNothingElse() async throws {
        let (daemon, udp, _) = try await launch()
        try await onThread {
            let before = try daemon.json("/performance/metrics").at("metrics_count")?.numberValue
            try StatsDSender.datagram("""
                no.type:1
                bad.number:abc|c
                bad.rate:1|c|@2
                bad.label:1|c|#le:0.5
                _e{2,2}:ab|cd
                _sc|check|0
                """, port: udp)
            try StatsDSender.datagram("tagged:1|c|#flag,env:prod", port: udp)
            try StatsDSender.datagram("long:" + String(repeating: "9", count: 9000) + "|c", port: udp)
            let counted = try lines(daemon)
            #expect(counted["bad_line"] == 1 && counted["bad_value"] == 1 && counted["bad_sample_rate"] == 1 && counted["bad_label"] == 1)
            #expect(counted["event_or_check"] == 2 && counted["too_long"] == 1 && counted["accepted"] == 1, "\(counted)")
            #expect(try daemon.json("/performance/metrics").at("metrics_count")?.numberValue == before.map { $0 + 1 }, "only the good line made a series")
            let text = try RawHTTPClient(port: daemon.port).get("/metrics").text
            #expect(text.contains(#"perfmond_statsd_tags_dropped_total{reason="no_value"} 1"#))
            #expect(text.contains(#"tagged_total{env="prod"} 1"#), "the tag without a value is dropped, its line kept")
            let memory = try daemon.json("/performance/memory").at("ingest", "statsd")
            #expect(memory?.at("lines", "bad_label")?.numberValue == 1 && memory?.at("tags_dropped", "no_value")?.numberValue == 1)
        }
        try await daemon.halt()
    }

    static let mappingA = """
        statsd_mappings:
          - {match: "llm.*.*.latency", target: provider_duration_ms, labels: {provider: "$1", model: "$2"}}
        """

    @Test func mappingsFeedTheProviderStatsAndReloadOnSIGHUP() async throws {
        let file = try writeTemporary(Self.mappingA)
        let daemon = try await DaemonProcess.launch(["--config", file], environment: Self.onFreePorts)
        let udp = try #require(daemon.statsdPorts).udp
        try await onThread {
            try StatsDSender.datagram("llm.openai.gpt-4o.latency:812|ms\nllm.openai.gpt-4o.latency:400|ms", port: udp)
            let pair = try daemon.json("/performance/providers?provider=openai").at("providers", "openai")
            #expect(pair?.at("total_requests")?.numberValue == 2, "\(String(describing: pair))")
        }
        try (Self.mappingA.replacing("provider_duration_ms", with: "provider_error")).write(toFile: file, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(try await daemon.logged("applied=statsd_mappings"), "\(daemon.log)")
        try await onThread {
            try StatsDSender.datagram("llm.openai.gpt-4o.latency:1|c", port: udp)
            let pair = try daemon.json("/performance/providers?provider=openai").at("providers", "openai")
            #expect(pair?.at("total_requests")?.numberValue == 3 && pair?.at("failed_requests")?.numberValue == 1, "\(String(describing: pair))")
            #expect(try lines(daemon)["mapped"] == 3)
        }
        try await daemon.halt()
    }

    @Test func aBadMappingIsRefusedByCheckConfigAndAtStart() async throws {
        let file = try writeTemporary("statsd_mappings:\n  - {match: \"a..b\", target: provider_latency}\n")
        let result = try await DaemonProcess.runToEnd(["--port", "0", "--config", file])
        #expect(result.status == 2)
        #expect(result.output.contains("statsd_mappings[0].match: expected a dot-separated glob"), "\(result.output)")
        #expect(result.output.contains("statsd_mappings[0].target: \"provider_latency\" is not one of provider_duration_ms"), "\(result.output)")
        let checked = try await runCommandOffPool(DaemonProcess.binaryPath, ["check-config", file])
        #expect(checked.status == 2 && checked.output.contains("statsd_mappings[0].match"), "\(checked.output)")
    }

    @Test func anAddressInUseStopsStartUpWithStatusTwo() async throws {
        // Hold a UDP port, then ask the daemon for it.
        let holder = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let result = try await DaemonProcess.runToEnd(["--port", "0"], environment: ["PERFMOND_STATSD_LISTEN": "127.0.0.1:\(port)"])
        #expect(result.status == 2)
        #expect(result.output.contains("cannot listen for StatsD on statsd_listen 127.0.0.1:\(port): bind 127.0.0.1:\(port): Address already in use"),
                "\(result.output)")
    }

    @Test func anIPv6AddressListensAndIsNamedInBrackets() async throws {
        let daemon = try await DaemonProcess.launch([], environment: ["PERFMOND_STATSD_LISTEN": "[::1]:0"])
        #expect(daemon.log.contains("statsd_udp=[::1]:"), "\(daemon.log)")
        let udp = try #require(daemon.statsdPorts).udp
        try await onThread {
            try StatsDSender.datagramOverIPv6("v6.hits:2|c", port: udp)
            #expect(try series(daemon, "v6.hits").first?.at("sum")?.numberValue == 2)
        }
        try await daemon.halt()
    }

    @Test func tcpConnectionsPastTheLimitAreClosedAndCounted() async throws {
        let (daemon, _, tcp) = try await launch("statsd_max_tcp_connections: 2\n")
        try await onThread {
            let first = try StatsDSender.Stream(port: tcp), second = try StatsDSender.Stream(port: tcp), third = try StatsDSender.Stream(port: tcp)
            try first.send("one:1|c\n")
            try second.send("two:1|c\n")
            _ = try daemon.json("/performance/metrics")  // the listener accepts all three now
            #expect(third.isClosedByPeer(within: 2))
            let text = try RawHTTPClient(port: daemon.port).get("/metrics").text
            #expect(text.contains("perfmond_statsd_tcp_connections_refused_total 1") && text.contains("perfmond_statsd_tcp_connections 2"))
            #expect(try lines(daemon)["accepted"] == 2)
        }
        try await daemon.halt()
    }

    /// SIGTERM while a client sends: the daemon stops cleanly, and every line received before the
    /// signal is in the snapshot it writes.
    @Test func aStopWhileClientsSendKeepsWhatWasReceived() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("statsd-\(UUID().uuidString).state").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let (daemon, udp, _) = try await launch("state_file: \(state)\n")
        let keepSending = Atomic<Bool>(true)
        let background = Thread {
            while keepSending.load(ordering: .relaxed) { try? StatsDSender.datagram("during.stop:1|c", port: udp) }
        }
        background.start()
        try await onThread {
            for _ in 0..<250 {
                try StatsDSender.datagram((0..<20).map { _ in "before.stop:1|c" }.joined(separator: "\n"), port: udp)
            }
        }
        let stopped = try await daemon.halt()
        keepSending.store(false, ordering: .relaxed)
        #expect(stopped?.status == 0, "\(daemon.log)")
        let restarted = try await DaemonProcess.launch(["--config", try writeTemporary("state_file: \(state)\n")])
        try await onThread {
            let sum = try restarted.json("/performance/metrics?name=before.stop").at("metrics", "before.stop", "series")?.arrayValue?.first?.at("sum")
            #expect(sum?.numberValue == 5000, "\(String(describing: sum))")
        }
        try await restarted.halt()
    }
}
