import MicroHTTPD
import PerfJSON
import PerfMonitor

/// `POST /v1/metrics` and `POST /v1/traces`: an OTLP/HTTP receiver (api.md §6.2), so that
/// `OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:9470` is all a service sets. Protobuf or JSON,
/// gzip or not; the body (up to `otlp_max_body_bytes` after inflating) is read as it arrives.
/// Answered in the request's encoding: `200` with `partialSuccess` when items were refused,
/// `400` with a `google.rpc.Status` for a body that does not decode, and — after waiting up to
/// `queueWait` for room in a full queue — `429`/`503` + `Retry-After` when nothing could be
/// kept: OTLP exporters send those again.
public struct OTLPRoute: Sendable {
    public enum Signal: Sendable {
        case metrics, traces

        var route: IngestCounters.Route { self == .metrics ? .otlpMetrics : .otlpTraces }
    }

    public let buffer: IngestBuffer
    public let clock: any StoreClock
    public let readiness: Readiness
    public let counters: IngestCounters
    public let outcomes: OTLPCounters
    public let metrics: OTLPMetricsMapping
    public let spans: OTLPSpanMapping
    public let maxBodyBytes: Int

    public init(buffer: IngestBuffer, clock: any StoreClock, readiness: Readiness, counters: IngestCounters, outcomes: OTLPCounters,
                metrics: OTLPMetricsMapping, spans: OTLPSpanMapping, maxBodyBytes: Int) {
        self.buffer = buffer
        self.clock = clock
        self.readiness = readiness
        self.counters = counters
        self.outcomes = outcomes
        self.metrics = metrics
        self.spans = spans
        self.maxBodyBytes = maxBodyBytes
    }

    public func register(in routes: inout Routes) {
        for signal in [Signal.metrics, .traces] {
            let stream = BodyStream(maxBodyBytes: maxBodyBytes) { request in OTLPBody(route: self, signal: signal, request: request) }
            routes.add("POST", signal.route.path, access: .ingest, handler: .streaming(stream))
        }
    }

    /// The refusal of a request before its body is read, or how to read it.
    func reading(_ request: Request, _ signal: Signal) -> Result<(OTLPEncoding, compressed: Bool), RefusedRequest> {
        let route = signal.route
        let encoding = OTLPEncoding(contentType: request.headers["Content-Type"])
        if readiness.current == .stopping {
            counters.refused(.shuttingDown, events: 0, route: route)
            return .failure(RefusedRequest(response: Self.shuttingDown(encoding ?? .json)))
        }
        // Until the snapshot is read back, the cumulative streams are not: a point now would only
        // set a baseline and lose what the restored stream would have counted. Exporters retry 503.
        if signal == .metrics, readiness.current == .starting {
            counters.refused(.starting, events: 0, route: route)
            return .failure(RefusedRequest(response: OTLPAnswer.retryLater(503, "perfmond is starting (reading its snapshot); retry in a moment",
                                                                           seconds: 1, encoding ?? .json)))
        }
        guard let encoding else {
            counters.refused(.unsupportedMediaType, events: 0, route: route)
            return .failure(RefusedRequest(response: .error(415, "unsupported Content-Type '\(request.headers["Content-Type"] ?? "")'; OTLP/HTTP sends application/x-protobuf or application/json")))
        }
        switch request.headers["Content-Encoding"]?.trimmingSpaces.lowercased() {
        case nil, "", "identity": return .success((encoding, false))
        case "gzip", "x-gzip", "deflate": return .success((encoding, true))
        case let other?:
            counters.refused(.unsupportedMediaType, events: 0, route: route)
            return .failure(RefusedRequest(response: OTLPAnswer.status(415, code: .invalidArgument,
                                                                       "unsupported Content-Encoding '\(other)'; send gzip or none", encoding)))
        }
    }

    /// How long a request that finds the ingest queue full waits for room before `429`: a burst
    /// is absorbed here rather than by the exporter's backoff (1 s, then 2 s, 4 s…).
    static let queueWait = 1.0

    /// The answer to a complete body: now, or once the queue had room.
    func reply(to body: [UInt8], _ signal: Signal, _ encoding: OTLPEncoding) -> BodyReply {
        do throws(ProtobufDecodingError) {
            switch signal {
            case .metrics:
                let request = encoding == .json ? try OTLPJSON.metrics(body)
                    : try body.withUnsafeBytes { bytes in Result { () throws(ProtobufDecodingError) in try OTLPProtobuf.metrics(bytes) } }.get()
                // Mapped again after a wait: a refused attempt left the cumulative streams as they were.
                let attempt = { @Sendable () -> (OTLPMapped, IngestBuffer.Outcome) in
                    var outcome = IngestBuffer.Outcome.accepted
                    let mapped = metrics.map(request, now: clock.now()) { mapped in
                        outcome = mapped.events.count > buffer.capacity ? .full : buffer.append(mapped.events)
                        return outcome == .accepted
                    }
                    return (mapped, outcome)
                }
                let (mapped, outcome) = attempt()
                guard outcome == .full, mapped.events.count <= buffer.capacity else { return .now(answer(mapped, outcome, signal, encoding)) }
                return .later {
                    let (mapped, outcome) = await buffer.retryWhileFull(upTo: Self.queueWait, attempt, outcome: \.1)
                    return answer(mapped, outcome, signal, encoding)
                }
            case .traces:
                let request = encoding == .json ? try OTLPJSON.traces(body)
                    : try body.withUnsafeBytes { bytes in Result { () throws(ProtobufDecodingError) in try OTLPProtobuf.traces(bytes) } }.get()
                let now = clock.now()
                let mapped = spans.map(request, now: now)
                let outcome = mapped.events.count > buffer.capacity ? .full : buffer.append(mapped.events)
                let answered = { @Sendable (outcome: IngestBuffer.Outcome) -> Response in
                    if outcome == .accepted { spans.noteGenAIServices(request, now: now) }
                    return answer(mapped, outcome, signal, encoding)
                }
                guard outcome == .full, mapped.events.count <= buffer.capacity else { return .now(answered(outcome)) }
                return .later { answered(await buffer.append(mapped.events, waitingUpTo: Self.queueWait)) }
            }
        } catch {
            counters.refused(.malformed, events: 0, route: signal.route)
            return .now(OTLPAnswer.status(400, code: .invalidArgument, "the body does not decode as OTLP \(encoding.name): \(error.message)", encoding))
        }
    }

    /// What a mapped request's outcome at the queue is answered, and counted.
    private func answer(_ mapped: OTLPMapped, _ outcome: IngestBuffer.Outcome, _ signal: Signal, _ encoding: OTLPEncoding) -> Response {
        let route = signal.route
        let items = signal == .metrics ? mapped.points.total : mapped.spans.total
        switch outcome {
        case .accepted:
            counters.accepted(events: items - mapped.rejected, invalid: mapped.rejected - mapped.unsupported, unsupported: mapped.unsupported, route: route)
            outcomes.add(mapped)
            return OTLPAnswer.success(signal, rejected: mapped.rejected, mapped.refusals.errorMessage, encoding)
        case .full where mapped.events.count > buffer.capacity:
            counters.refused(.overCapacity, events: items, route: route)
            return OTLPAnswer.status(413, code: .invalidArgument, "the request makes \(mapped.events.count) events, more than the ingest queue holds (\(buffer.capacity), ingest_queue_capacity); send smaller batches", encoding)
        case .full:
            counters.refused(.queueFull, events: items, route: route)
            return OTLPAnswer.retryLater(429, "ingest queue stayed full for \(Self.queueWait) s; nothing of this request was kept, retry it", seconds: 1, encoding)
        case .closed:
            counters.refused(.shuttingDown, events: items, route: route)
            return Self.shuttingDown(encoding)
        }
    }

    /// The answer while perfmond stops: nothing was kept, come back later (as `/events` says it).
    static func shuttingDown(_ encoding: OTLPEncoding) -> Response {
        OTLPAnswer.retryLater(503, "perfmond is shutting down; retry against another instance or after restart", seconds: 5, encoding)
    }

    func tooLarge(_ signal: Signal, _ encoding: OTLPEncoding) -> Response {
        counters.refused(.inflatedTooLarge, events: 0, route: signal.route)
        return OTLPAnswer.status(413, code: .invalidArgument, "the body inflates past otlp_max_body_bytes (\(maxBodyBytes) bytes); send smaller batches", encoding)
    }

    func corrupt(_ signal: Signal, _ encoding: OTLPEncoding, _ why: String) -> Response {
        counters.refused(.malformed, events: 0, route: signal.route)
        return OTLPAnswer.status(400, code: .invalidArgument, "the body does not inflate: \(why)", encoding)
    }
}

/// A request refused before its body is read.
struct RefusedRequest: Error {
    let response: Response
}

/// One OTLP request's body, inflated (when compressed) and kept as it arrives, up to the limit.
final class OTLPBody: BodyConsumer {
    private let route: OTLPRoute
    private let signal: OTLPRoute.Signal
    private var answer: Response?
    private var encoding = OTLPEncoding.json
    private var inflater: Inflater?
    private var body: [UInt8] = []

    init(route: OTLPRoute, signal: OTLPRoute.Signal, request: Request) {
        self.route = route
        self.signal = signal
        switch route.reading(request, signal) {
        case let .failure(refused): answer = refused.response
        case let .success((encoding, compressed)):
            self.encoding = encoding
            if compressed { inflater = Inflater(limit: route.maxBodyBytes) }
            if let length = request.headers["Content-Length"].flatMap(Int.init), length <= route.maxBodyBytes { body.reserveCapacity(length) }
        }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        guard answer == nil else { return }
        guard let inflater else { return body.append(contentsOf: bytes) }  // the stream's limit bounds it
        do {
            try inflater.feed(bytes, into: &body)
        } catch {
            body = []
            switch error {
            case .tooLarge: answer = route.tooLarge(signal, encoding)
            case let .corrupt(why): answer = route.corrupt(signal, encoding, why)
            }
        }
    }

    func finish() -> BodyReply {
        if let answer { return .now(answer) }
        if let inflater, !inflater.isComplete { return .now(route.corrupt(signal, encoding, "the compressed stream is cut short")) }
        return route.reply(to: body, signal, encoding)
    }
}
