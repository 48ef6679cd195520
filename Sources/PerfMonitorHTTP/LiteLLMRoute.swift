import MicroHTTPD
import PerfJSON
import PerfMonitor
import Synchronization

/// `POST /ingest/litellm`: LiteLLM's generic API logging callback, as it sends (api.md §6.1).
/// The body — up to `litellm_max_body_bytes`, tens of megabytes of prompts and responses — is
/// read as it arrives and only the members the mapping uses are kept; the batch is applied whole
/// once complete. LiteLLM retries nothing by default, and never a 4xx: a full queue makes the
/// request wait for room (up to `queueWait`) instead of answering 429, then `503` + `Retry-After`.
public struct LiteLLMRoute: Sendable {
    public let buffer: IngestBuffer
    public let decoder: EventDecoder
    public let mapping: LiteLLMMapping
    public let clock: any StoreClock
    public let readiness: Readiness
    public let counters: IngestCounters
    public let maxBodyBytes: Int
    public let queueWait: TimeSpan
    /// How long batches waited for room in the queue.
    public let waits: QueueWaits

    public init(buffer: IngestBuffer, decoder: EventDecoder, mapping: LiteLLMMapping, clock: any StoreClock, readiness: Readiness,
                counters: IngestCounters, maxBodyBytes: Int, queueWait: TimeSpan, waits: QueueWaits) {
        self.buffer = buffer
        self.decoder = decoder
        self.mapping = mapping
        self.clock = clock
        self.readiness = readiness
        self.counters = counters
        self.maxBodyBytes = maxBodyBytes
        self.queueWait = queueWait
        self.waits = waits
    }

    public func register(in routes: inout Routes) {
        let stream = BodyStream(maxBodyBytes: maxBodyBytes) { request in LiteLLMBody(route: self, request: request) }
        routes.add("POST", IngestCounters.Route.litellm.path, access: .ingest, handler: .streaming(stream))
    }

    /// Refuses the request before its body is read, when it must be.
    func refusal(for request: Request) -> Response? {
        if readiness.current == .stopping {
            counters.refused(.shuttingDown, events: 0, route: .litellm)
            return IngestRoute.shuttingDown
        }
        // LiteLLM sends application/json for all three of its formats (NDJSON included).
        guard IngestRoute.bodyForm(request.headers["Content-Type"]) != nil else {
            counters.refused(.unsupportedMediaType, events: 0, route: .litellm)
            return .error(415, "unsupported Content-Type '\(request.headers["Content-Type"] ?? "")'; LiteLLM's generic API callback sends application/json")
        }
        return nil
    }

    /// The answer to a complete body.
    func reply(to read: Result<LiteLLMBatchReader.Batch, JSONSyntaxError>) -> BodyReply {
        let batch: LiteLLMBatchReader.Batch
        switch read {
        case let .failure(syntax):
            counters.refused(.malformed, events: 0, route: .litellm)
            return .now(.json(status: 400, #"{"accepted":0,"rejected":0,"errors":[{"offset":\#(syntax.offset),"error":"# + JSONString.quoted("invalid JSON: " + syntax.message) + "}]}"))
        case let .success(read):
            batch = read
        }
        if batch.payloads == 0 {
            counters.refused(.noEvents, events: 0, route: .litellm)
            return .now(.json(status: 400, #"{"accepted":0,"rejected":0,"errors":[{"error":"no payloads"}]}"#))
        }
        if batch.accepted == 0 {
            counters.refused(.invalid, events: batch.errors.total, route: .litellm)
            return .now(.json(status: 400, IngestRoute.summary(accepted: 0, errors: batch.errors)))
        }
        if batch.events.count > buffer.capacity {
            counters.refused(.overCapacity, events: batch.payloads, route: .litellm)
            return .now(.error(413, "the batch makes \(batch.events.count) events, more than the ingest queue holds (\(buffer.capacity), ingest_queue_capacity); send smaller batches (LiteLLM: batch_size)"))
        }
        return .later {
            let started = ContinuousClock.now
            let outcome = await buffer.append(batch.events, waitingUpTo: queueWait.seconds)
            waits.record(ContinuousClock.now - started)
            switch outcome {
            case .accepted:
                counters.accepted(events: batch.accepted, invalid: batch.errors.total, route: .litellm)
                return .json(status: 202, IngestRoute.summary(accepted: batch.accepted, errors: batch.errors))
            case .full:
                counters.refused(.queueTimeout, events: batch.payloads, route: .litellm)
                return IngestRoute.retryLater(503, "ingest queue stayed full for \(queueWait); nothing of this batch was kept, retry it (LiteLLM: set max_retries)", seconds: 1)
            case .closed:
                counters.refused(.shuttingDown, events: batch.payloads, route: .litellm)
                return IngestRoute.shuttingDown
            }
        }
    }
}

/// One LiteLLM request's body, read as it arrives; after a syntax error the rest is ignored.
final class LiteLLMBody: BodyConsumer {
    private let route: LiteLLMRoute
    private let refusal: Response?
    private var reader: LiteLLMBatchReader
    private var failure: JSONSyntaxError?

    init(route: LiteLLMRoute, request: Request) {
        self.route = route
        refusal = route.refusal(for: request)
        reader = LiteLLMBatchReader(mapping: route.mapping, decoder: route.decoder, now: route.clock.now())
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        guard refusal == nil, failure == nil else { return }
        do {
            try reader.feed(bytes)
        } catch {
            failure = error
        }
    }

    func finish() -> BodyReply {
        if let refusal { return .now(refusal) }
        if let failure { return route.reply(to: .failure(failure)) }
        do {
            return route.reply(to: .success(try reader.finish()))
        } catch {
            return route.reply(to: .failure(error))
        }
    }
}

/// The time LiteLLM batches spent waiting for room in the ingest queue (a histogram on `/metrics`).
public final class QueueWaits: Sendable {
    private let waits = Mutex(Distribution())

    public init() {}

    func record(_ wait: Duration) {
        waits.withLock { $0.record(wait.seconds * 1000) }
    }

    /// In milliseconds.
    public var distribution: Distribution { waits.withLock { $0 } }
}
