import Foundation
import Synchronization

/// The real `perfmond` binary started as a child process on port 0, for tests that speak HTTP
/// to it as a user would. Its stderr is captured; the port is read from its "listening" log line.
public final class DaemonProcess: Sendable {
    public let process: Process
    private let output = OutputBuffer()
    private let reading: FileHandle
    public let port: Int

    /// The `perfmond` binary built beside the test bundle (or `PERFMOND_BINARY`).
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["PERFMOND_BINARY"] { return path }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("perfmond").path
    }

    /// Starts `perfmond` with `arguments` and waits until it listens and `/ready` says 200 (its
    /// snapshot, if any, restored); `waitForReady: false` for a daemon that speaks TLS only.
    public convenience init(_ arguments: [String] = [], environment: [String: String] = [:], waitForReady: Bool = true) throws {
        try self.init(arguments: ["--port", "0"] + arguments, environment: environment, waitForListening: true)
        guard waitForReady else { return }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, process.isRunning {
            if (try? RawHTTPClient(port: port).get("/ready"))?.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw ClientError("perfmond did not become ready; it said:\n\(log)")
    }

    /// Starts `perfmond` exactly as told; waits for the "listening" line only when asked.
    public init(arguments: [String], environment: [String: String] = [:], waitForListening: Bool) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = arguments
        // A clean environment: no PERFMOND_ variable of the developer's leaks into a test.
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PERFMOND_") }
        env.merge(environment) { $1 }
        process.environment = env
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        let output = self.output
        reading = pipe.fileHandleForReading
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        guard waitForListening else {
            port = 0
            return
        }
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            found = output.text.withLock { Self.listeningPort(in: $0) }
            if found == nil { Thread.sleep(forTimeInterval: 0.02) }
        }
        guard let found else {
            process.terminate()
            throw ClientError("perfmond did not start listening; it said:\n\(output.text.withLock { $0 })")
        }
        port = found
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Everything the daemon wrote to stderr and stdout so far.
    public var log: String { output.text.withLock { $0 } }

    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits (up to `timeout` seconds) for the exit; nil when it did not exit.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 10) -> (status: Int32, seconds: Double)? {
        let start = Date()
        kill(process.processIdentifier, signal)
        return waitForExit(timeout: timeout).map { ($0, Date().timeIntervalSince(start)) }
    }

    /// Waits for the process to end by itself; its exit status, or nil on timeout.
    public func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        // The last lines: what the handler has not read yet, read to the end the child closed.
        reading.readabilityHandler = nil
        let rest = reading.readDataToEndOfFile()
        if !rest.isEmpty { output.text.withLock { $0 += String(decoding: rest, as: UTF8.self) } }
        return process.terminationStatus
    }

    /// The StatsD ports the "listening" line names (`statsd_udp=127.0.0.1:N`), when it listens.
    public var statsdPorts: (udp: Int, tcp: Int)? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("listening") }) else { return nil }
        func port(_ key: String) -> Int? {
            guard let range = line.range(of: key + "=") else { return nil }
            let address = line[range.upperBound...].prefix { $0 != " " }
            return address.split(separator: ":").last.flatMap { Int($0) }
        }
        guard let udp = port("statsd_udp"), let tcp = port("statsd_tcp") else { return nil }
        return (udp, tcp)
    }

    static func listeningPort(in log: String) -> Int? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("listening") }),
              let range = line.range(of: "port=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Runs `perfmond` to completion (for start-up failures); its exit status and output.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 20) throws -> (status: Int32, output: String) {
        let daemon = try DaemonProcess(arguments: arguments, environment: environment, waitForListening: false)
        guard let status = daemon.waitForExit(timeout: timeout) else {
            daemon.process.terminate()
            throw ClientError("perfmond \(arguments) did not exit; it said:\n\(daemon.log)")
        }
        return (status, daemon.log)
    }
}

/// Text a child process writes, appended from the pipe's thread and read from the test's.
final class OutputBuffer: Sendable {
    let text = Mutex<String>("")
}

/// The blocking calls above, off Swift's cooperative pool: a test that waits for a child process
/// on a pool thread starves every async handler and URLSession callback of the whole test run.
extension DaemonProcess {
    public static func launch(_ arguments: [String] = [], environment: [String: String] = [:], waitForReady: Bool = true) async throws -> DaemonProcess {
        try await onThread { try DaemonProcess(arguments, environment: environment, waitForReady: waitForReady) }
    }

    public static func runToEnd(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await onThread { try DaemonProcess.run(arguments, environment: environment) }
    }

    @discardableResult
    public func halt(signal: Int32 = SIGTERM, timeout: TimeInterval = 10) async throws -> (status: Int32, seconds: Double)? {
        try await onThread { self.stop(signal: signal, timeout: timeout) }
    }

    public func finished(timeout: TimeInterval = 10) async throws -> Int32? {
        try await onThread { self.waitForExit(timeout: timeout) }
    }

    /// Waits until the log holds `text`; false on timeout.
    public func logged(_ text: String, timeout: TimeInterval = 10) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
