import MicroHTTPD
import PerfJSON
import PerfMonitor

/// `POST /events`: decodes and validates on the server thread, hands the valid events to the
/// store through the bounded `IngestBuffer`, and answers with what was accepted and why the rest
/// was not (api.md §1).
public struct IngestRoute: Sendable {
    public let buffer: IngestBuffer
    public let decoder: EventDecoder
    public let clock: any StoreClock
    public let readiness: Readiness
    public let counters: IngestCounters

    public init(buffer: IngestBuffer, decoder: EventDecoder, clock: any StoreClock, readiness: Readiness, counters: IngestCounters) {
        self.buffer = buffer
        self.decoder = decoder
        self.clock = clock
        self.readiness = readiness
        self.counters = counters
    }

    public func register(in routes: inout Routes) {
        routes.add("POST", "/events", access: .ingest, handler: .sync { request in self.handle(request) })
    }

    func handle(_ request: Request) -> Response {
        if readiness.current == .stopping {
            counters.refused(.shuttingDown, events: 0)
            return Self.shuttingDown
        }
        guard let form = Self.bodyForm(request.headers["Content-Type"]) else {
            counters.refused(.unsupportedMediaType, events: 0)
            let sent = request.headers["Content-Type"] ?? ""
            let hint = sent.hasPrefix("application/x-www-form-urlencoded") ? " (curl -d sends form data: add -H 'Content-Type: application/json')" : ""
            return .error(415, "unsupported Content-Type '\(sent)'; send application/json (one event or an array of events) or application/x-ndjson (one event per line), in UTF-8" + hint)
        }
        let batch = decoder.decode(request.body, form: form, now: clock.now())
        if let syntax = batch.syntaxError {
            counters.refused(.malformed, events: 0)
            return .json(status: 400, #"{"accepted":0,"rejected":0,"errors":[{"offset":\#(syntax.offset),"error":"# + JSONString.quoted("invalid JSON: " + syntax.message) + "}]}")
        }
        if batch.events.isEmpty && batch.errors.isEmpty {
            counters.refused(.noEvents, events: 0)
            return .json(status: 400, #"{"accepted":0,"rejected":0,"errors":[{"error":"no events"}]}"#)
        }
        if batch.events.isEmpty {
            counters.refused(.invalid, events: batch.errors.total)
            return .json(status: 400, Self.summary(accepted: 0, errors: batch.errors))
        }
        switch buffer.append(batch.events) {
        case .accepted:
            counters.accepted(events: batch.events.count, invalid: batch.errors.total)
            return .json(status: 202, Self.summary(accepted: batch.events.count, errors: batch.errors))
        case .full:
            counters.refused(.queueFull, events: batch.events.count + batch.errors.total)
            return Self.retryLater(429, "ingest queue is full (\(buffer.capacity) events); nothing of this request was kept, retry it", seconds: 1)
        case .closed:
            counters.refused(.shuttingDown, events: batch.events.count + batch.errors.total)
            return Self.shuttingDown
        }
    }

    /// The body form a `Content-Type` names, or nil for one perfmond does not read — a charset
    /// other than UTF-8 included (JSON is UTF-8, RFC 8259 §8.1: a Latin-1 body would be misread).
    static func bodyForm(_ contentType: String?) -> EventDecoder.BodyForm? {
        guard let contentType else { return .json }
        if contentType == "application/json" { return .json }  // the usual case, without parsing
        let parts = contentType.split(separator: ";").map { String($0).trimmingSpaces.lowercased() }
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).filter { $0 != "\"" }
            guard charset == "utf-8" || charset == "utf8" else { return nil }
        }
        let mediaType = parts.first ?? ""
        switch mediaType {
        case "application/json", "": return .json
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines": return .ndjson
        default: return nil
        }
    }

    /// The answer's summary: what was accepted, what was refused and why (the first
    /// `RejectedItems.maxListed`; the rest counted in `errors_omitted`).
    static func summary(accepted: Int, errors: RejectedItems) -> [UInt8] {
        // Every event valid, the usual answer: written straight into bytes.
        if errors.isEmpty {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(64)
            bytes.append(contentsOf: #"{"accepted":"#.utf8)
            bytes.append(contentsOf: String(accepted).utf8)
            bytes.append(contentsOf: #","rejected":0,"errors":[]}"#.utf8)
            return bytes
        }
        var text = #"{"accepted":\#(accepted),"rejected":\#(errors.total),"errors":["#
        for (position, error) in errors.enumerated() {
            if position > 0 { text += "," }
            text += #"{"index":\#(error.index),"error":"# + JSONString.quoted(error.message) + "}"
        }
        text += "]"
        if errors.omitted > 0 { text += #","errors_omitted":\#(errors.omitted)"# }
        return Array((text + "}").utf8)
    }

    /// The answer of an ingest route while perfmond stops: nothing was kept, come back later.
    static var shuttingDown: Response {
        retryLater(503, "perfmond is shutting down; retry against another instance or after restart", seconds: 5)
    }

    static func retryLater(_ status: Int, _ message: String, seconds: Int) -> Response {
        var response = Response.error(status, message)
        response.headers.add(name: "Retry-After", value: String(seconds))
        return response
    }
}
