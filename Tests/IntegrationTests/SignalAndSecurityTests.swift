import Foundation
import PerfJSON
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion; its exit status and what it printed.
func runCommand(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `runCommand` on a thread of its own.
func runCommandOffPool(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await onThread { try runCommand(executable, arguments) }
}

let thresholdsA = """
    alert_thresholds:
      - {metric: error_rate_percent, comparison: ">", threshold: 7, severity: warning}
    """

/// The threshold of the first alert rule in a `/performance/config` answer.
func firstThreshold(_ config: JSONValue) -> Double? {
    config.at("alert_thresholds")?.arrayValue?.first?.at("threshold")?.numberValue
}

/// SIGHUP, systemd's notify socket, tokens from files and TLS, on the real binary.
@Suite struct SignalAndSecurityTests {
    @Test func sighupAppliesAGoodFileAndRefusesABadOne() async throws {
        let config = try writeTemporary(thresholdsA + "\nlog_level: info\n")
        let daemon = try await DaemonProcess.launch(["--config", config])
        #expect(try await onThread { firstThreshold(try daemon.json("/performance/config")) } == 7)

        let tokenFile = try writeTemporary("read-token-from-a-file-0123\n")
        try (thresholdsA.replacing("threshold: 7", with: "threshold: 9") + "\nread_token_file: \(tokenFile)\nmax_body_bytes: 2MiB\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(try await daemon.logged("configuration reloaded"), "\(daemon.log)")
        #expect(try await daemon.logged("keys=max_body_bytes"), "a changed body limit needs a restart and says so")
        try await onThread {
            #expect(try RawHTTPClient(port: daemon.port).get("/performance/config").status == 401, "the new read token guards reads")
            let auth = [("Authorization", "Bearer read-token-from-a-file-0123")]
            let shown = try daemon.json("/performance/config", headers: auth)
            #expect(firstThreshold(shown) == 9)
            #expect(shown["max_body_bytes"] == .string("1MiB"), "the running limit stays")
            #expect(!(try RawHTTPClient(port: daemon.port).get("/performance/config", headers: auth)).text.contains("read-token-from"))
        }

        try "alert_thresholds: [{metric: nonsense, threshold: 1}]\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(try await daemon.logged("configuration not reloaded"), "\(daemon.log)")
        try await onThread {
            let auth = [("Authorization", "Bearer read-token-from-a-file-0123")]
            let metrics = try RawHTTPClient(port: daemon.port).get("/metrics").text
            #expect(metrics.contains("perfmond_config_last_reload_successful 0"))
            #expect(metrics.contains(#"perfmond_config_reloads_total{result="failure"} 1"#))
            #expect(firstThreshold(try daemon.json("/performance/config", headers: auth)) == 9, "the running thresholds stay")
        }
        #expect(daemon.isRunning)
        #expect(try await daemon.halt()?.status == 0)
        #expect(!daemon.log.contains("read-token-from-a-file"), "a token is never logged")
    }

    @Test func systemdHearsReadyReloadingAndStopping() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let socketPath = directory.appendingPathComponent("notify").path
        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // recv blocks: off the cooperative pool.
        let receive = { @Sendable () async throws -> String in
            try await onThread {
                var buffer = [UInt8](repeating: 0, count: 512)
                let count = recv(listener, &buffer, buffer.count, 0)
                return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : "(nothing)"
            }
        }
        let daemon = try await DaemonProcess.launch(["--config", try writeTemporary("state_file: \(directory.path)/state.bin\n")],
                                       environment: ["NOTIFY_SOCKET": socketPath])
        #expect(try await receive().hasPrefix("READY=1"))
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(try await receive() == "RELOADING=1")
        #expect(try await receive().hasPrefix("READY=1"))
        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(try await receive() == "STOPPING=1")
        #expect(try await daemon.finished() == 0)
    }

    @Test func ingestTokenFromAFile() async throws {
        let tokenFile = try writeTemporary("ingest-token-in-a-file-42\n")
        let daemon = try await DaemonProcess.launch(["--config", try writeTemporary("ingest_token_file: \(tokenFile)\n")])
        try await onThread {
            let refused = try daemon.post(providerCalls(1))
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try daemon.post(providerCalls(1), headers: [("Authorization", "Bearer ingest-token-in-a-file-42")]).status == 202)
            #expect(try RawHTTPClient(port: daemon.port).get("/health").status == 200)
        }
        #expect(try await daemon.halt()?.status == 0)
    }

    @Test func badSecurityConfigurationStopsStartUp() async throws {
        let short = try await DaemonProcess.runToEnd(["--port", "0"], environment: ["PERFMOND_INGEST_TOKEN": "short-secret"])
        #expect(short.status == 2)
        #expect(short.output.contains("ingest_token = <hidden, 12 characters>"), "\(short.output)")
        #expect(!short.output.contains("short-secret"))
        let lonely = try await DaemonProcess.runToEnd(["--port", "0"], environment: ["PERFMOND_TLS_CERT_FILE": "/etc/hostname"])
        #expect(lonely.status == 2)
        #expect(lonely.output.contains("tls_cert_file and tls_key_file go together"))
    }

    @Test func tlsServesHTTPSAndRefusesPlainHTTP() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            Issue.record("openssl and curl are needed for the TLS test: run `make test-deps`")
            return
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
        let made = try await runCommandOffPool("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                                       "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        #expect(made.status == 0, "\(made.output)")
        let daemon = try await DaemonProcess.launch(["--config", try writeTemporary("tls_cert_file: \(cert)\ntls_key_file: \(key)\n")], waitForReady: false)
        #expect(daemon.log.contains("tls=true"))
        let url = "https://127.0.0.1:\(daemon.port)"
        var health = (status: Int32(-1), output: "")
        for _ in 0..<100 {
            health = try await runCommandOffPool("/usr/bin/curl", ["-sS", "--cacert", cert, url + "/ready"])
            if health.output.contains(#""status":"ok""#) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(health.status == 0 && health.output.contains(#""status":"ok""#), "\(health.output)")
        let posted = try await runCommandOffPool("/usr/bin/curl", ["-sS", "--cacert", cert, "-H", "Content-Type: application/json",
                                                      "--data-binary", #"{"type":"provider_request","provider":"p","model":"m","duration_ms":5}"#,
                                                      url + "/events"])
        #expect(posted.output.contains(#""accepted":1"#), "\(posted.output)")
        let untrusted = try await runCommandOffPool("/usr/bin/curl", ["-sS", url + "/health"])
        // curl's own codes: 60, the certificate is not trusted; 52, the server closed without an answer.
        #expect(untrusted.status == 60 && untrusted.output.contains("SSL certificate problem"),
                "a client that does not trust the certificate fails the handshake: \(untrusted.output)")
        let plain = try await runCommandOffPool("/usr/bin/curl", ["-sS", "--max-time", "5", "http://127.0.0.1:\(daemon.port)/health"])
        #expect(plain.status == 52, "plain HTTP on the TLS port gets no answer: \(plain.status) \(plain.output)")
        #expect(try await daemon.halt()?.status == 0)
    }
}
