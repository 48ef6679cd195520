import PerfJSON

/// Reads a LiteLLM generic-API body as it arrives — a JSON array of payloads, NDJSON, or one
/// payload (LiteLLM labels all three `application/json`; the first byte tells them apart) — and
/// keeps only the members `LiteLLMPayload` reads. Each payload becomes its events or one error
/// with its index, so that one bad payload costs only itself.
public struct LiteLLMBatchReader {
    /// What the body held: the events of its good payloads, one error per bad one.
    public struct Batch: Sendable {
        public var events: [Event] = []
        public var errors = RejectedItems()
        /// Payloads read, good and bad.
        public var payloads = 0
        /// Payloads that became events.
        public var accepted: Int { payloads - errors.total }
    }

    private var parser: JSONStreamParser<Reader>

    public init(mapping: LiteLLMMapping, decoder: EventDecoder, now: Double) {
        parser = JSONStreamParser(handler: Reader(mapping: mapping, decoder: decoder, now: now))
    }

    /// Reads the next piece of the body.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) {
        try parser.feed(bytes)
    }

    /// The body is complete: what it held, or why it is not JSON.
    public mutating func finish() throws(JSONSyntaxError) -> Batch {
        try parser.finish()
        return parser.handler.batch
    }

    /// The parser's handler: where it is in the body, and the payload being read.
    struct Reader: JSONStreamHandler {
        enum Frame {
            case batch, payload, errorInformation, hiddenParams, additionalHeaders
        }

        let mapping: LiteLLMMapping
        let decoder: EventDecoder
        let now: Double
        var batch = Batch()
        var frames: [Frame] = []
        var key = ""
        /// Whether the member under `key` is one the payload reads.
        var readsKey = false
        var payload = LiteLLMPayload()
        /// The body's top level: an array, or objects one after another.
        var topLevelArrayDone = false

        init(mapping: LiteLLMMapping, decoder: EventDecoder, now: Double) {
            self.mapping = mapping
            self.decoder = decoder
            self.now = now
            frames.reserveCapacity(4)
        }

        mutating func begin(object: Bool, at offset: Int) throws(JSONSyntaxError) -> Bool {
            guard let frame = frames.last else {
                if topLevelArrayDone || (!object && batch.payloads > 0) {
                    throw JSONSyntaxError(offset: offset, message: "unexpected text after the batch: send one array, one payload, or one payload per line")
                }
                frames.append(object ? .payload : .batch)
                if object { payload = LiteLLMPayload() }
                return true
            }
            let entered: Frame?
            switch frame {
            case .batch: entered = object ? .payload : nil
            case .payload: entered = !object ? nil : key == "error_information" ? .errorInformation : key == "hidden_params" ? .hiddenParams : nil
            case .hiddenParams: entered = object && key == "additional_headers" ? .additionalHeaders : nil
            case .errorInformation, .additionalHeaders: entered = nil
            }
            guard let entered else { return false }
            if entered == .payload { payload = LiteLLMPayload() }
            frames.append(entered)
            readsKey = false
            return true
        }

        mutating func end(at offset: Int) throws(JSONSyntaxError) {
            switch frames.removeLast() {
            case .payload: finishPayload()
            case .batch: topLevelArrayDone = true
            case .errorInformation, .hiddenParams, .additionalHeaders: break
            }
        }

        mutating func key(_ key: String) -> Bool {
            self.key = key
            switch frames.last {
            case .payload?: readsKey = LiteLLMPayload.reads(key, in: .payload)
            case .errorInformation?: readsKey = LiteLLMPayload.reads(key, in: .errorInformation)
            case .additionalHeaders?: readsKey = LiteLLMPayload.reads(key, in: .additionalHeaders)
            case .hiddenParams?, .batch?, nil: readsKey = false
            }
            return readsKey
        }

        /// A payload's place is refused without decoding what is there instead.
        mutating func element() -> Bool { false }

        mutating func value(_ value: JSONValue?, at offset: Int) throws(JSONSyntaxError) {
            switch frames.last {
            case nil:
                throw JSONSyntaxError(offset: offset, message: "expected a LiteLLM payload object, an array of them, or one per line")
            case .batch?:
                batch.errors.append(batch.payloads, "expected a payload object")
                batch.payloads += 1
            case .payload?:
                if readsKey { payload.take(key, value, in: .payload) }
            case .errorInformation?:
                if readsKey { payload.take(key, value, in: .errorInformation) }
            case .additionalHeaders?:
                if readsKey { payload.take(key, value, in: .additionalHeaders) }
            case .hiddenParams?:
                break
            }
        }

        private mutating func finishPayload() {
            do {
                batch.events.append(contentsOf: try mapping.events(from: payload, now: now, decoder: decoder))
            } catch {
                batch.errors.append(batch.payloads, error.message)
            }
            batch.payloads += 1
        }
    }
}
