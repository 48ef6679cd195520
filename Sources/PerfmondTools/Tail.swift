import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `perfmond tail`: seed 001's `tail-requests` — the raw events that match, as they are applied,
/// one JSON object a line (jq reads it), followed from `/performance/events` as Server-Sent Events.
public struct Tail: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        abstract: "Follow the raw events as they arrive, with filters, one JSON object a line.",
        discussion: """
            Prints the newest --limit events that match, then each new one until interrupted (or --count).
            Events the daemon's ring of raw events (recent_events) dropped before they were read are
            reported on stderr. Example: perfmond tail --provider openai --errors
            """
    )

    @OptionGroup var daemon: DaemonOptions

    @Option(help: "An event type (provider_request, request_end, error, …).")
    var type: String?
    @Option(help: "Only events of this provider.")
    var provider: String?
    @Option(help: "Only events of this model.")
    var model: String?
    @Option(help: "Only events of this endpoint.")
    var endpoint: String?
    @Option(help: "Only events of this component.")
    var component: String?
    @Flag(help: "Only failed calls, errors and timeouts.")
    var errors = false
    @Option(help: "Only calls that took at least this many milliseconds.")
    var minDurationMs: Double?
    @Option(help: "Events shown first, from those already received (1 to 10000).")
    var limit = 10
    @Option(help: "Stop after printing this many events.")
    var count: Int?

    public func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let minDurationMs, !(minDurationMs >= 0) { throw ValidationError("--min-duration-ms must be ≥ 0") }
    }

    /// The query of `/performance/events` these options make.
    var query: String {
        var items = [URLQueryItem(name: "limit", value: String(limit))]
        for (name, value) in [("type", type), ("provider", provider), ("model", model), ("endpoint", endpoint), ("component", component)] {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        if errors { items.append(URLQueryItem(name: "errors", value: "true")) }
        if let minDurationMs { items.append(URLQueryItem(name: "min_duration_ms", value: String(minDurationMs))) }
        var components = URLComponents()
        components.queryItems = items
        return "/performance/events" + (components.string ?? "")
    }

    public func run() async throws {
        let client = try daemon.client()
        guard let url = URL(string: query, relativeTo: client.base) else { throw ValidationError("bad --url") }
        var request = URLRequest(url: url)
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        request.timeoutInterval = 24 * 3600
        if let token = client.token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        var frames = SSEFrames()
        var printed = 0
        for try await chunk in EventStreamReader.chunks(of: request) {
            switch chunk {
            case let .refused(status, body):
                FileHandle.standardError.write(Data("perfmond tail: the daemon answered \(status): \(body)\n".utf8))
                throw ExitCode(1)
            case let .bytes(data):
                for frame in frames.feed(data) {
                    switch frame.event {
                    case "event":
                        print(frame.data)
                        printed += 1
                        if let count, printed >= count { return }
                    case "missed":
                        FileHandle.standardError.write(Data("perfmond tail: missed \(frame.data)\n".utf8))
                    default: break
                    }
                }
            }
        }
    }
}

/// Server-Sent Events frames cut from the bytes as they arrive: `event:` and `data:` lines, a
/// blank line ending each frame; comments (`:`) ignored.
struct SSEFrames {
    struct Frame: Equatable {
        var event = "message"
        var data = ""
    }

    private var buffer = Data()

    mutating func feed(_ bytes: Data) -> [Frame] {
        buffer.append(bytes)
        var frames: [Frame] = []
        while let end = buffer.range(of: Data("\n\n".utf8)) {
            let text = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
            buffer.removeSubrange(buffer.startIndex..<end.upperBound)
            var frame = Frame(), sawData = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix(":") {
                if line.hasPrefix("event: ") { frame.event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") {
                    frame.data += (sawData ? "\n" : "") + line.dropFirst(6)
                    sawData = true
                }
            }
            if sawData { frames.append(frame) }
        }
        return frames
    }
}

/// The body of a streamed answer as it arrives (URLSession's delegate, which corelibs Foundation
/// has where `bytes(for:)` is missing).
final class EventStreamReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {  // URLSession calls it on its one delegate queue
    enum Chunk: Sendable {
        case bytes(Data)
        case refused(status: Int, body: String)
    }

    private let continuation: AsyncThrowingStream<Chunk, Error>.Continuation
    private var status = 200
    private var refusal = Data()

    private init(_ continuation: AsyncThrowingStream<Chunk, Error>.Continuation) {
        self.continuation = continuation
    }

    static func chunks(of request: URLRequest) -> AsyncThrowingStream<Chunk, Error> {
        AsyncThrowingStream { continuation in
            let reader = EventStreamReader(continuation)
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = 1
            let session = URLSession(configuration: .default, delegate: reader, delegateQueue: queue)
            let task = session.dataTask(with: request)
            continuation.onTermination = { _ in
                task.cancel()
                session.invalidateAndCancel()
            }
            task.resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if status == 200 { continuation.yield(.bytes(data)) } else { refusal.append(data) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if status != 200 { continuation.yield(.refused(status: status, body: String(decoding: refusal, as: UTF8.self))) }
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }
}
