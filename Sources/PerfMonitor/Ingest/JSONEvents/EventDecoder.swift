import PerfJSON

/// The outcome of decoding one `POST /events` body: the valid events, one error per invalid one,
/// or a syntax error that spoils the whole body.
public struct DecodedBatch: Sendable {
    public var events: [Event] = []
    public var errors = RejectedItems()
    /// Set when the body is not JSON at all (nothing of it is kept).
    public var syntaxError: JSONSyntaxError?

    public init() {}
}

/// Turns request bodies into validated events, by the field table of api.md §1.
public struct EventDecoder: Sendable {
    /// The body forms: one object or an array (`application/json`), or one object per line (NDJSON).
    public enum BodyForm: Sendable {
        case json, ndjson
    }

    /// Events older than this many seconds before `now` are refused (outside the retention).
    public var maxAgeSeconds: Double
    /// Events stamped more than this after `now` are refused.
    public var maxFutureSeconds: Double = 300
    /// Label values (provider, model, endpoint…) longer than this are refused.
    public static let maxLabelBytes = 256

    /// The custom metric names in use: a `metric` event that would change a name's kind, pass
    /// the name limit or collide on `/metrics` is refused (nil: no such checks, for tools and tests).
    public let catalog: MetricCatalog?
    /// Label sets read before, shared by every copy of the decoder (every request).
    let labelSets = LabelSetInterner()

    public init(maxAgeSeconds: Double, catalog: MetricCatalog? = nil) {
        self.maxAgeSeconds = maxAgeSeconds
        self.catalog = catalog
    }

    public func decode(_ body: [UInt8], form: BodyForm, now: Double) -> DecodedBatch {
        body.withUnsafeBufferPointer { decode($0, form: form, now: now) }
    }

    public func decode(_ body: UnsafeBufferPointer<UInt8>, form: BodyForm, now: Double) -> DecodedBatch {
        var batch = DecodedBatch()
        let add = { (batch: inout DecodedBatch, index: Int, value: JSONValue) in
            switch self.event(from: value, now: now) {
            case let .success(event): batch.events.append(event)
            case let .failure(error): batch.errors.append(index, error.message)
            }
        }
        switch form {
        case .ndjson:
            var lineStart = 0, line = 0
            while lineStart < body.count {
                var lineEnd = lineStart
                while lineEnd < body.count, body[lineEnd] != 0x0A { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart, body[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let blank = (lineStart..<contentEnd).allSatisfy { [0x20, 0x09].contains(body[$0]) }
                if !blank {
                    do {
                        var fields = EventFields()
                        if let value = try JSONParser.parse(body, range: lineStart..<contentEnd, visitingObject: { fields.take($0, $1, $2) }) {
                            add(&batch, line, value)
                        } else {
                            record(&batch, line, fields, now: now)
                        }
                    } catch {
                        batch.errors.append(line, "invalid JSON at byte \(error.offset - lineStart) of the line: \(error.message)")
                    }
                }
                lineStart = lineEnd + 1
                line += 1
            }
        case .json:
            var firstByte: UInt8?
            for byte in body where ![0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                firstByte = byte
                break
            }
            guard let firstByte else { return batch }
            do {
                if firstByte == UInt8(ascii: "[") {
                    var fields = EventFields()
                    try JSONParser.forEachElement(ofArrayIn: body, object: { fields.take($0, $1, $2) }, objectDone: { index in
                        record(&batch, index, fields, now: now)
                        fields = EventFields()
                    }, other: { index, value in add(&batch, index, value) })
                } else {
                    var fields = EventFields()
                    if try JSONParser.parse(body, visitingObject: { fields.take($0, $1, $2) }) != nil {
                        batch.syntaxError = JSONSyntaxError(offset: 0, message: "expected an event object or an array of event objects")
                        return batch
                    }
                    record(&batch, 0, fields, now: now)
                }
            } catch {
                return DecodedBatch(syntaxError: error)
            }
        }
        return batch
    }

    /// Validates the fields read from one event object and keeps the event or its error.
    private func record(_ batch: inout DecodedBatch, _ index: Int, _ fields: EventFields, now: Double) {
        do {
            batch.events.append(try fields.event(now: now, decoder: self))
        } catch {
            batch.errors.append(index, error.message)
        }
    }

    /// One event from its JSON object, or the first thing wrong with it.
    public func event(from value: JSONValue, now: Double) -> Result<Event, EventError> {
        guard case let .object(members) = value else {
            return .failure(EventError("expected an event object, got \(value.quoted)"))
        }
        do {
            return .success(try EventFields(members: members).event(now: now, decoder: self))
        } catch {
            return .failure(error)
        }
    }
}

extension DecodedBatch {
    init(syntaxError: JSONSyntaxError) {
        self.init()
        self.syntaxError = syntaxError
    }
}

/// Why one event was refused, worded for the client (`field 'duration_ms': expected …`).
public struct EventError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
