import Foundation
import Logging
import PerfMonitor
import PerfmondConfig
import Synchronization

/// Pushes every series to a remote write receiver (api.md §8): each `remote_write_interval`,
/// what a scrape would show goes into the queue as compressed `WriteRequest`s, and a thread of
/// its own sends them oldest first. 2xx: sent. 5xx, 429 and network errors: retried, with a
/// backoff from 100 ms doubling to 10 s (a 429's Retry-After, up to a minute, wins), the request
/// kept at the head so that samples arrive in order. Another 4xx: the request is dropped, counted
/// `rejected`, and the receiver's reason logged. Ingest and queries never wait for it: building a
/// push is one read of the store, like a scrape, and sending happens on the thread.
public final class RemoteWriter: Sendable {
    static let minimumBackoff = 0.1, maximumBackoff = 10.0, maximumRetryAfter = 60.0

    public let configuration: RemoteWriteConfiguration
    public let queue: RemoteWriteQueue
    let route: MetricsRoute
    let instance: String
    let logger: Logger
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    public init(configuration: RemoteWriteConfiguration, instanceName: String, route: MetricsRoute, queue: RemoteWriteQueue, logger: Logger) {
        self.configuration = configuration
        self.queue = queue
        self.route = route
        instance = instanceName.isEmpty ? ProcessInfo.processInfo.hostName : instanceName
        self.logger = logger
    }

    /// Queues every series as they are now.
    public func push() async {
        let timestampMs = Int64((WallClock.now() * 1000).rounded())
        let exposition = await route.exposition(RemoteWriteExposition(prefix: route.configuration.prefix, job: "perfmond",
                                                                      instance: instance, timestampMs: timestampMs))
        for request in exposition.requests {
            queue.push(RemoteWriteQueue.Entry(body: SnappyBlock.compress(request.body), samples: request.samples))
        }
        wake.signal()
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "remote-write"
        thread.start()
    }

    /// Ends the attempt under way (at most `remote_write_timeout`), then counts what is still
    /// queued as dropped (`shutdown`).
    public func stop() async {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        while !stopped.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(5)) }
        queue.dropAll()
    }

    private func run() {
        defer { stopped.store(true, ordering: .releasing) }
        guard let poster = CurlPoster() else {
            logger.error("remote write cannot start: libcurl gave no handle")
            return
        }
        var backoff = Self.minimumBackoff
        while !stopping.load(ordering: .acquiring) {
            guard let entry = queue.first else {
                _ = wake.wait(timeout: .now() + 1)
                continue
            }
            switch attempt(entry, poster) {
            case .delivered:
                queue.removeFirst(.sent, at: WallClock.now())
                backoff = Self.minimumBackoff
            case let .refused(status, reason):
                logger.warning("remote write: the receiver refused a request; its samples are dropped",
                               metadata: ["status": "\(status)", "reason": "\(reason)", "samples": "\(entry.samples)"])
                queue.removeFirst(.dropped(.rejected, error: "\(status): \(reason)"), at: WallClock.now())
            case let .retry(error, retryAfter):
                queue.noteRetry(error: error)
                let pause = retryAfter.map { Swift.min($0, Self.maximumRetryAfter) } ?? backoff
                backoff = Swift.min(backoff * 2, Self.maximumBackoff)
                _ = wake.wait(timeout: .now() + pause)  // a stop ends the pause at once
            }
        }
    }

    private enum Attempt {
        case delivered
        case refused(Int, String)
        case retry(String, retryAfter: Double?)
    }

    private func attempt(_ entry: RemoteWriteQueue.Entry, _ poster: CurlPoster) -> Attempt {
        var headers = ["Content-Type: application/x-protobuf", "Content-Encoding: snappy",
                       "X-Prometheus-Remote-Write-Version: 0.1.0", "User-Agent: perfmond/\(PerfmondVersion.current)"]
        var password: String?
        do {
            if !configuration.bearerTokenFile.isEmpty { headers.append("Authorization: Bearer " + (try Self.secret(configuration.bearerTokenFile))) }
            if !configuration.basicAuthPasswordFile.isEmpty { password = try Self.secret(configuration.basicAuthPasswordFile) }
        } catch {
            return .retry("cannot read a credential file: \(error)", retryAfter: nil)
        }
        let answer = poster.post(entry.body, to: configuration.url, headers: headers,
                                 user: configuration.basicAuthUser.isEmpty ? nil : configuration.basicAuthUser, password: password,
                                 caFile: configuration.caFile.isEmpty ? nil : configuration.caFile, verifyTLS: configuration.tlsVerify,
                                 timeoutMs: Int(configuration.timeout.milliseconds))
        switch answer {
        case let .status(status, _, _) where (200..<300).contains(status):
            return .delivered
        case let .status(status, retryAfter, body) where status == 429 || status >= 500:
            return .retry("\(status): \(body.prefix(200))", retryAfter: retryAfter.map(Double.init))
        case let .status(status, _, body):
            return .refused(status, String(body.prefix(200)))
        case let .failed(error):
            return .retry(error, retryAfter: nil)
        }
    }

    /// A token or password file's content without its trailing line feed.
    static func secret(_ path: String) throws -> String {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
