import Foundation
import PerfJSON
import PerfMonitor
import Testing
import TestSupport

/// What a property test found wrong, collected where the loop runs and reported by the test.
struct Failures {
    private(set) var list: [String] = []

    mutating func check(_ condition: Bool, _ message: @autoclosure () -> String = "", line: Int = #line) {
        if !condition { list.append("line \(line): \(message())") }
    }

    mutating func record(_ message: String, line: Int = #line) {
        list.append("line \(line): \(message)")
    }
}

/// Random JSON texts: nested values with escapes, non-ASCII text, numbers in every form, random
/// whitespace; event-shaped objects; and mutations of both (bytes flipped, cut, inserted).
struct JSONGenerator {
    var random: SeededRandom

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }
    mutating func space() -> String { chance(0.7) ? "" : pick([" ", "\n", "\t", "\r\n", "  "]) }

    mutating func number() -> String {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return String(Int.random(in: -1000...1000, using: &random))
        case 1: return String(Int64.random(in: -9_000_000_000_000...9_000_000_000_000, using: &random))
        case 2: return String(format: "%.3f", Double.random(in: -1e6...1e6, using: &random))
        case 3: return "\(Int.random(in: 1...9, using: &random)).\(Int.random(in: 0...999, using: &random))e\(pick(["", "+", "-"]))\(Int.random(in: 0...30, using: &random))"
        case 4: return pick(["0", "-0", "0.5", "1E2", "123456789012345678901234567890", "1e-7"])
        default: return String(Double.random(in: 0...5000, using: &random))
        }
    }

    mutating func string() -> String {
        var text = "\""
        for _ in 0..<Int.random(in: 0...12, using: &random) {
            text += pick(["a", "Z", "_", "-", "/", "é", "漢", "😀", "\\\"", "\\\\", "\\n", "\\t", "\\u00e9", "\\ud83d\\ude00", "\\/", " ", "0"])
        }
        return text + "\""
    }

    mutating func value(depth: Int) -> String {
        switch depth > 3 ? Int.random(in: 0..<4, using: &random) : Int.random(in: 0..<6, using: &random) {
        case 0: return number()
        case 1: return string()
        case 2: return pick(["true", "false", "null"])
        case 3: return number()
        case 4:
            let items = (0..<Int.random(in: 0...4, using: &random)).map { _ in space() + value(depth: depth + 1) + space() }
            return "[" + items.joined(separator: ",") + "]"
        default:
            var keys = Set<String>()
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let key = string()
                guard keys.insert(key).inserted else { continue }  // distinct keys: Foundation keeps the last, we the first
                members.append(space() + key + space() + ":" + space() + value(depth: depth + 1) + space())
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    /// An event as a gateway would send it, with a random subset of the fields.
    mutating func event() -> (text: String, fields: [String: Any]) {
        var fields: [String: Any] = ["type": "provider_request", "provider": pick(["openai", "anthropic", "google"]),
                                     "model": pick(["gpt-4o", "claude-sonnet-4", "gemini-2.0-flash", "m\u{e9}lange"])]
        if chance(0.9) { fields["duration_ms"] = Double(Int.random(in: 0...600_000, using: &random)) / 10 }
        if chance(0.5) { fields["ttft_ms"] = Double(Int.random(in: 0...50_000, using: &random)) / 100 }
        if chance(0.7) { fields["status_code"] = pick([200, 201, 400, 429, 500, 503]) }
        if chance(0.5) { fields["cost_usd"] = Double(Int.random(in: 0...100_000, using: &random)) / 1e6 }
        if chance(0.5) { fields["input_tokens"] = Int.random(in: 0...100_000, using: &random) }
        if chance(0.5) { fields["output_tokens"] = Int.random(in: 0...100_000, using: &random) }
        if chance(0.3) { fields["error_type"] = pick(["timeout", "rate_limit", "server_error"]) }
        if chance(0.3) { fields["success"] = chance(0.5) }
        if chance(0.3) { fields["timestamp"] = 1_800_000_000 - Double(Int.random(in: 0...3_600_000, using: &random)) / 1000 }
        if chance(0.2) { fields["note"] = "unknown keys are ignored" }
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return (String(decoding: data, as: UTF8.self), fields)
    }

    mutating func mutate(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(pick(Array("\"\\{}[]:,0-.eE tn".utf8) + [0x80, 0xC3, 0xFF, 0x00, 0x1F]), at: at)
            case 2: bytes[at] = UInt8.random(in: 0...255, using: &random)
            default: bytes.removeLast(Int.random(in: 0...min(4, bytes.count), using: &random))
            }
        }
        return bytes
    }
}

/// perfmond's own JSON parser and event decoder checked against Foundation's on the same inputs.
@Suite struct ParserPropertyTests {
    /// Foundation's reading of a JSON text, or nil when it refuses it.
    static func foundation(_ bytes: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    /// Whether our value and Foundation's are the same (numbers within a rounding, objects as sets of keys).
    static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case let .bool(value):
            return (theirs as? Bool) == value
        case let .number(value, _):
            guard let number = theirs as? NSNumber else { return false }
            let expected = number.doubleValue
            return value == expected || abs(value - expected) <= 1e-12 * max(abs(value), abs(expected))
        case let .string(text): return (theirs as? String) == text
        case let .array(items):
            guard let others = theirs as? [Any], others.count == items.count else { return false }
            return zip(items, others).allSatisfy { same($0, $1) }
        case let .object(members):
            // Keys equal once decoded (an escaped and a literal emoji) are one key to Foundation,
            // which keeps the last; perfmond keeps them all and its event reader takes the first.
            var lastWins: [String: JSONValue] = [:]
            for (key, value) in members { lastWins[key] = value }
            guard let others = theirs as? [String: Any], others.count == lastWins.count else { return false }
            return lastWins.allSatisfy { key, value in others[key].map { same(value, $0) } ?? false }
        }
    }

    /// A ',' followed (after whitespace) by ']' or '}', outside strings.
    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false, escaped = false, afterComma = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true; afterComma = false
            case 0x2C: afterComma = true
            case 0x20, 0x09, 0x0A, 0x0D: break
            case 0x5D, 0x7D: if afterComma { return true }
            default: afterComma = false
            }
        }
        return false
    }

    static func holdsInfinity(_ value: JSONValue) -> Bool {
        switch value {
        case let .number(number, _): return !number.isFinite
        case let .array(items): return items.contains(where: holdsInfinity)
        case let .object(members): return members.contains { holdsInfinity($0.1) }
        default: return false
        }
    }

    @Test func generatedTextsParseAsFoundationParsesThem() async throws {
        // Thousands of cases: run off Swift's cooperative pool, which the HTTP tests running
        // alongside need for their async handlers.
        let failures = try await onThread { () -> [String] in
            var failures = Failures()
            var generator = JSONGenerator(random: SeededRandom(seed: 2026))
            var accepted = 0
            for _ in 0..<3000 {
                let text = generator.space() + generator.value(depth: 0) + generator.space()
                let bytes = Array(text.utf8)
                let theirs = Self.foundation(bytes)
                let ours = try? JSONParser.parse(bytes)
                failures.check((ours != nil) == (theirs != nil), "acceptance differs on \(text)")
                if let ours, let theirs {
                    accepted += 1
                    failures.check(Self.same(ours, theirs), "values differ on \(text)")
                }
            }
            failures.check(accepted > 2900, "nearly every generated text is valid JSON")
            return failures.list
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }

    @Test func mutatedTextsAreRefusedOrReadAsFoundationReadsThem() async throws {
        // Thousands of cases: run off Swift's cooperative pool, which the HTTP tests running
        // alongside need for their async handlers.
        let failures = try await onThread { () -> [String] in
            var failures = Failures()
            var generator = JSONGenerator(random: SeededRandom(seed: 2026))
            var refused = 0, agreed = 0
            for _ in 0..<40000 {
                let source = generator.chance(0.5) ? generator.event().text : generator.value(depth: 0)
                let bytes = generator.mutate(source)
                let theirs = Self.foundation(bytes)
                let ours = try? JSONParser.parse(bytes)
                if ours == nil { refused += 1 }
                // The one deliberate difference: a number beyond a Double's range reads as infinity
                // (its text kept), so that the event decoder can refuse that one event and quote the
                // value, where Foundation refuses the whole text.
                if let ours, theirs == nil, Self.holdsInfinity(ours) {
                    agreed += 1
                    continue
                }
                // Two ways Foundation is more lenient than RFC 8259, which perfmond follows: it guesses
                // UTF-16 or UTF-32 from NUL bytes, and it takes a trailing comma in arrays and objects.
                if ours == nil, theirs != nil, bytes.contains(0) || Self.hasTrailingComma(bytes) {
                    agreed += 1
                    continue
                }
                if (ours != nil) != (theirs != nil) {
                    failures.record("acceptance differs (ours \(ours != nil), Foundation \(theirs != nil)) on \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                    continue
                }
                if let ours, let theirs {
                    failures.check(Self.same(ours, theirs), "values differ on \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                }
                agreed += 1
            }
            failures.check(refused > 10000, "the mutations break most texts: \(refused)")
            failures.check(agreed == 40000)
            return failures.list
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }

    @Test func eventsDecodeToTheFieldsFoundationReads() async throws {
        // Thousands of cases: run off Swift's cooperative pool, which the HTTP tests running
        // alongside need for their async handlers.
        let failures = try await onThread { () -> [String] in
            var failures = Failures()
            var generator = JSONGenerator(random: SeededRandom(seed: 99))
            let decoder = EventDecoder(maxAgeSeconds: 86_400)
            for _ in 0..<2000 {
                let (text, fields) = generator.event()
                let batch = decoder.decode(Array(text.utf8), form: .json, now: 1_800_000_000)
                guard let event = batch.events.first, batch.errors.isEmpty else {
                    failures.record("refused \(text): \(batch.errors)")
                    continue
                }
                guard case let .providerCall(call) = event.kind else {
                    failures.record("\(text) is not a provider call: \(event.kind)")
                    continue
                }
                let outcome = call.outcome
                failures.check(call.provider == fields["provider"] as? String)
                failures.check(call.model == fields["model"] as? String)
                failures.check(outcome.durationMs == (fields["duration_ms"] as? NSNumber)?.doubleValue)
                failures.check(outcome.ttftMs == (fields["ttft_ms"] as? NSNumber)?.doubleValue)
                failures.check(outcome.statusCode == (fields["status_code"] as? NSNumber)?.intValue)
                failures.check(outcome.costUSD == (fields["cost_usd"] as? NSNumber)?.doubleValue)
                failures.check(outcome.inputTokens == (fields["input_tokens"] as? NSNumber)?.doubleValue)
                failures.check(outcome.outputTokens == (fields["output_tokens"] as? NSNumber)?.doubleValue)
                failures.check(outcome.errorType == fields["error_type"] as? String)
                let status = (fields["status_code"] as? NSNumber)?.intValue ?? 0
                let success = (fields["success"] as? Bool) ?? !(status >= 400 || fields["error_type"] != nil)
                failures.check(outcome.success == success, "\(text)")
                if let stamp = (fields["timestamp"] as? NSNumber)?.doubleValue { failures.check(abs(event.timestamp - stamp) < 1e-6) }
            }
            return failures.list
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }
}

/// The event decoder reads objects member by member, without building them; the same bodies
/// decoded the plain way (each value parsed whole, then read) must give the same events and the
/// same errors, valid or not.
@Suite struct DecoderEquivalenceTests {
    /// The reference: every line or element parsed into a JSONValue, then read.
    static func plainDecode(_ body: [UInt8], form: EventDecoder.BodyForm, decoder: EventDecoder, now: Double) -> (events: [Event], errors: [String], syntax: String?) {
        var events: [Event] = [], errors: [String] = []
        func add(_ index: Int, _ value: JSONValue) {
            switch decoder.event(from: value, now: now) {
            case let .success(event): events.append(event)
            case let .failure(error): errors.append("\(index): \(error.message)")
            }
        }
        switch form {
        case .ndjson:
            let text = String(decoding: body, as: UTF8.self)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var bytes = Array(line.utf8)
                if bytes.last == 0x0D { bytes.removeLast() }
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    add(index, try JSONParser.parse(bytes))
                } catch {
                    errors.append("\(index): invalid JSON at byte \(error.offset) of the line: \(error.message)")
                }
            }
        case .json:
            do {
                let value = try JSONParser.parse(body)
                switch value {
                case let .array(items): for (index, item) in items.enumerated() { add(index, item) }
                case .object: add(0, value)
                default: return ([], [], "expected an event object or an array of event objects")
                }
            } catch {
                return ([], [], error.message)
            }
        }
        return (events, errors, nil)
    }

    @Test func memberByMemberDecodingEqualsThePlainWay() async throws {
        // Thousands of cases: run off Swift's cooperative pool, which the HTTP tests running
        // alongside need for their async handlers.
        let failures = try await onThread { () -> [String] in
            var failures = Failures()
            var generator = JSONGenerator(random: SeededRandom(seed: 314))
            let decoder = EventDecoder(maxAgeSeconds: 86_400)
            let now = 1_800_000_000.0
            var compared = 0, withErrors = 0
            for round in 0..<3000 {
                var lines: [String] = []
                for _ in 0..<Int.random(in: 1...4, using: &generator.random) {
                    let event = generator.event().text
                    lines.append(generator.chance(0.4) ? String(decoding: generator.mutate(event), as: UTF8.self) : event)
                }
                let ndjson = generator.chance(0.5)
                let body = Array((ndjson ? lines.joined(separator: "\n") : "[" + lines.joined(separator: ",") + "]").utf8)
                let form: EventDecoder.BodyForm = ndjson ? .ndjson : .json
                let fast = decoder.decode(body, form: form, now: now)
                let plain = Self.plainDecode(body, form: form, decoder: decoder, now: now)
                let fastErrors = fast.errors.map { "\($0.index): \($0.message)" }
                if let syntax = plain.syntax {
                    failures.check(fast.syntaxError?.message == syntax, "round \(round): \(String(decoding: body, as: UTF8.self))")
                    failures.check(fast.events.isEmpty)
                    continue
                }
                failures.check(fast.syntaxError == nil, "round \(round): \(String(decoding: body, as: UTF8.self))")
                failures.check(fast.events == plain.events, "round \(round): \(String(decoding: body, as: UTF8.self))")
                failures.check(fastErrors == plain.errors, "round \(round): \(String(decoding: body, as: UTF8.self))")
                compared += 1
                if !fastErrors.isEmpty { withErrors += 1 }
            }
            failures.check(compared > 1500 && withErrors > 200, "compared \(compared), with errors \(withErrors)")
            return failures.list
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(3))")
    }
}
