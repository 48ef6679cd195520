import Foundation
import Logging
import MicroHTTPD
import PerfMonitor
@testable import PerfMonitorHTTP
import PerfmondConfig
import Synchronization
import Testing
import TestSupport

/// Remote write against a live receiver of our own HTTP server that answers as scripted: what a
/// push carries (snappy, protobuf, headers, every series with job and instance), retries in order
/// on 5xx and 429, a 4xx dropped and counted, the queue's bound. Debian's Prometheus as the
/// receiver is Tests/fleet/fleet-test.py.
@Suite(.serialized) struct RemoteWriteTests {
    /// A receiver answering each request with the next status of `script` (then 204), recording them.
    final class Receiver: Sendable {
        struct Received: Sendable {
            let headers: [(name: String, value: String)]
            let body: [UInt8]
        }

        /// What the receiver saw and has still to answer, shared with its route.
        final class Record: Sendable {
            let received = Mutex<[Received]>([])
            let script: Mutex<[(Int, [(String, String)])]>
            init(_ script: [(Int, [(String, String)])]) { self.script = Mutex(script) }
        }

        let server: HTTPServer
        let record: Record

        init(script: [(Int, [(String, String)])]) throws {
            var router = Router()
            let record = Record(script)
            self.record = record
            router.add("POST", "/api/v1/write", handler: .sync { request in
                record.received.withLock { $0.append(Received(headers: request.headers.fields, body: request.body)) }
                let (status, headers) = record.script.withLock { $0.isEmpty ? (204, []) : $0.removeFirst() }
                return Response(status: status, headers: HTTPHeaders(headers.map { (name: $0.0, value: $0.1) }), body: Array("scripted \(status)".utf8))
            })
            server = HTTPServer(configuration: ServerConfiguration(), router: router, logger: Logger(label: "receiver"))
            try server.start()
        }

        var url: String { "http://127.0.0.1:\(server.port)/api/v1/write" }
        var count: Int { record.received.withLock { $0.count } }
    }

    func writer(_ harness: Harness, _ receiver: Receiver, _ queue: RemoteWriteQueue, token: String? = nil) throws -> RemoteWriter {
        var configuration = RemoteWriteConfiguration()
        configuration.url = receiver.url
        if let token {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
            try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            configuration.bearerTokenFile = path
        }
        return RemoteWriter(configuration: configuration, instanceName: "test-1", route: harness.metricsRoute, queue: queue, logger: Logger(label: "test"))
    }

    static func labels(_ series: ProtobufMessage) throws -> [(String, String)] {
        try series.messages(1).map { ($0.string(1) ?? "", $0.string(2) ?? "") }
    }

    @Test func aPushCarriesEverySeriesCompressedWithItsHeaders() async throws {
        let queue = RemoteWriteQueue(capacity: 500_000)
        let harness = try Harness(remoteWrite: queue)
        let receiver = try Receiver(script: [])
        let writer = try writer(harness, receiver, queue, token: "t0ken")
        try await harness.post([100, 150, 2000].map { #"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":\#($0)}"# })
        writer.start()
        await writer.push()
        try await waitUntil { queue.current.queuedSamples == 0 && queue.current.sent > 0 }
        await writer.stop()
        await receiver.server.shutdown()
        let received = try #require(receiver.record.received.withLock { $0.first })
        let header = { (name: String) in received.headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        #expect(header("Content-Encoding") == "snappy")
        #expect(header("Content-Type") == "application/x-protobuf")
        #expect(header("X-Prometheus-Remote-Write-Version") == "0.1.0")
        #expect(header("Authorization") == "Bearer t0ken")
        let request = try ProtobufMessage(try Snappy.decompress(received.body))
        let series = try request.messages(1)
        #expect(series.count == queue.current.sent, "one sample a series, every one sent")
        for one in series {
            let names = try Self.labels(one).map(\.0)
            #expect(names == names.sorted() && names.contains("job") && names.contains("instance"))
        }
        let native = try #require(try series.first { try Self.labels($0).contains { $0 == ("__name__", "perfmond_provider_request_duration_seconds") } })
        #expect(try Self.labels(native).map { "\($0)=\($1)" } == ["__name__=perfmond_provider_request_duration_seconds", "instance=test-1", "job=perfmond",
                                                                  "model=gpt-4o", "provider=openai"])
        let histogram = try #require(try native.message(4))
        #expect(histogram.uint(1) == 3 && histogram.double(3) == 2.25 && histogram.sint(4) == 6)
        #expect(try histogram.messages(11).map { $0.sint(1) ?? 0 } == [-212, 36, 238])
        #expect(try histogram.packedSInts(12) == [1, 0, 0])
        #expect((histogram.uint(15) ?? 0) > 1_700_000_000_000, "a timestamp in milliseconds (int64)")
        let buckets = try series.filter { try Self.labels($0).contains { $0 == ("__name__", "perfmond_provider_request_duration_seconds_bucket") } }
        #expect(buckets.count == ClassicBounds().providerDuration.count + 1)
    }

    @Test func failuresAreRetriedInOrderAndARefusalIsDroppedAndCounted() async throws {
        let queue = RemoteWriteQueue(capacity: 500_000)
        let harness = try Harness(remoteWrite: queue)
        let receiver = try Receiver(script: [(503, []), (429, [("Retry-After", "0")]), (204, []), (400, [])])
        let writer = try writer(harness, receiver, queue)
        try await harness.post([#"{"type":"provider_request","provider":"openai","model":"gpt-4o","duration_ms":100}"#])
        await writer.push()
        let samples = queue.current.queuedSamples
        writer.start()
        try await waitUntil { queue.current.sent > 0 }
        #expect(receiver.count == 3)
        await writer.push()
        try await waitUntil { queue.current.dropped[.rejected] != nil }
        await writer.stop()
        await receiver.server.shutdown()
        let figures = queue.current
        #expect(figures.sent == samples)
        #expect(figures.retried == 2 * samples)
        #expect(figures.failedAttempts == 2)
        #expect(figures.dropped[.rejected] ?? 0 > 0)
        #expect(figures.lastError.hasPrefix("400: scripted 400"))
        let metrics = try await harness.get("/metrics").text
        #expect(metrics.contains("perfmond_remote_write_samples_total{outcome=\"retried\"} \(2 * samples)\n"))
        #expect(metrics.contains("perfmond_remote_write_samples_dropped_total{reason=\"rejected\"} \(figures.dropped[.rejected] ?? 0)\n"))
        let memory = try await harness.get("/performance/memory").text
        #expect(memory.contains(#""samples_retried":\#(2 * samples)"#))
    }

    /// A token file that cannot be read is a failed attempt, retried (a secret being rotated), never a drop.
    @Test func anUnreadableTokenFileIsRetriedAndNamed() async throws {
        let queue = RemoteWriteQueue(capacity: 500_000)
        let harness = try Harness(remoteWrite: queue)
        let receiver = try Receiver(script: [])
        var configuration = RemoteWriteConfiguration()
        configuration.url = receiver.url
        configuration.bearerTokenFile = "/nonexistent/perfmond-token"
        let writer = RemoteWriter(configuration: configuration, instanceName: "test-1", route: harness.metricsRoute, queue: queue, logger: Logger(label: "test"))
        await writer.push()
        writer.start()
        try await waitUntil { queue.current.failedAttempts >= 2 }
        await writer.stop()
        await receiver.server.shutdown()
        let figures = queue.current
        #expect(receiver.count == 0, "nothing is sent without the token")
        #expect(figures.failedAttempts >= 2 && figures.sent == 0 && figures.dropped[.rejected] == nil)
        #expect(figures.lastError.hasPrefix("cannot read a credential file"))
        #expect(figures.dropped[.shutdown] ?? 0 > 0, "what was still queued at the stop is counted")
    }

    @Test func theQueueDropsItsOldestPastItsBound() async throws {
        let queue = RemoteWriteQueue(capacity: 1_000)
        for samples in [600, 300, 500] { queue.push(RemoteWriteQueue.Entry(body: [], samples: samples)) }
        #expect(queue.current.dropped[.queueFull] == 600)
        #expect(queue.current.queuedSamples == 800)
        queue.push(RemoteWriteQueue.Entry(body: [], samples: 1_001))
        #expect(queue.current.dropped[.queueFull] == 1_601, "one larger than the whole queue is dropped at once")
        queue.dropAll()
        #expect(queue.current.dropped[.shutdown] == 800 && queue.current.queuedSamples == 0)
    }

    @Test(arguments: [0, 1, 59, 60, 61, 300, 70_000, 200_000])
    func snappyBlocksDecompressToWhatWentIn(size: Int) throws {
        var random = SeededRandom(seed: UInt64(size))
        // Runs of repeated text (matches near and far) between random bytes (literals).
        var input: [UInt8] = []
        while input.count < size {
            if random.unit() < 0.5 {
                input += Array("perfmond_provider_request_duration_seconds_bucket".utf8.prefix(Int(random.next() % 50) + 1))
            } else {
                for _ in 0..<Int(random.next() % 80) { input.append(UInt8(truncatingIfNeeded: random.next())) }
            }
        }
        input = Array(input.prefix(size))
        let compressed = SnappyBlock.compress(input)
        #expect(try Snappy.decompress(compressed) == input)
        if size >= 70_000 { #expect(compressed.count < input.count * 3 / 4) }
    }
}

/// Snappy's block format read back, for the tests (the spec's decoder: literals and copies).
enum Snappy {
    struct Damaged: Error {}

    static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        var position = 0, length = 0, shift = 0
        while true {
            guard position < input.count else { throw Damaged() }
            let byte = input[position]
            position += 1
            length |= Int(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        var output: [UInt8] = []
        output.reserveCapacity(length)
        while position < input.count {
            let tag = input[position]
            position += 1
            switch tag & 3 {
            case 0:
                var count = Int(tag >> 2) + 1
                if count > 60 {
                    let bytes = count - 60
                    count = 0
                    for index in 0..<bytes { count |= Int(input[position + index]) << (8 * index) }
                    count += 1
                    position += bytes
                }
                output += input[position..<position + count]
                position += count
            case 1:
                let count = Int((tag >> 2) & 7) + 4, offset = Int(tag >> 5) << 8 | Int(input[position])
                position += 1
                for _ in 0..<count { output.append(output[output.count - offset]) }
            case 2:
                let count = Int(tag >> 2) + 1, offset = Int(input[position]) | Int(input[position + 1]) << 8
                position += 2
                guard offset > 0, offset <= output.count else { throw Damaged() }
                for _ in 0..<count { output.append(output[output.count - offset]) }
            default:
                throw Damaged()
            }
        }
        guard output.count == length else { throw Damaged() }
        return output
    }
}
