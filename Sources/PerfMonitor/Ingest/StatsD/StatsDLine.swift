/// One StatsD or DogStatsD line, read and checked (api.md §6.3):
/// `name:value[:value…]|type[|@rate][|#tag:v,…][|T<unix seconds>]`, with the tags of the
/// DogStatsD (`|#k:v`), InfluxDB (`name,k=v`), Librato (`name#k=v`) and SignalFX (`name[k=v]`)
/// styles, read the way statsd_exporter reads them. Mapping it to events is `StatsDMapping`'s.
public struct StatsDLine: Sendable, Equatable {
    /// What a line does to its series: the `|type` field.
    public enum MetricType: String, Sendable, Equatable {
        case counter = "c"
        case gauge = "g"
        case timer = "ms"
        case histogram = "h"
        case distribution = "d"
        case set = "s"
    }

    /// One value of the line, as its type reads it.
    public enum Value: Sendable, Equatable {
        case number(Double)
        /// A gauge's `+n` or `-n`: a change, not a new value.
        case change(Double)
        /// A set's member, as sent.
        case member(String)
    }

    /// One tag, its key already a label name.
    public struct Tag: Sendable, Equatable {
        public let key: String
        public let value: String
    }

    /// The name as sent, without the tags written into it.
    public var name: String
    public var type: MetricType
    /// At least one; `name:v1:v2|ms` has two.
    public var values: [Value]
    public var sampleRate: SampleRate
    /// At most `MetricLabels.maxCount`, keys unique (a key sent twice keeps its last value).
    public var tags: [Tag]
    /// `|T<unix seconds>`, when sent.
    public var timestamp: Double?
    /// Tags left out, each reason with its count: without a value, or past the eighth (in key order).
    public var droppedTags: DroppedTags

    /// Tags a line dropped (its line kept).
    public struct DroppedTags: Sendable, Equatable {
        public var withoutValue = 0
        public var pastLimit = 0
    }
}

/// Why a line was not taken: the outcome it is counted under, and a sentence for tests and logs.
public struct StatsDLineError: Error, Equatable {
    public let outcome: StatsDOutcome
    public let message: String

    init(_ outcome: StatsDOutcome, _ message: String) {
        self.outcome = outcome
        self.message = message
    }
}

/// What a line read as.
public enum StatsDParsed: Sendable, Equatable {
    case metric(StatsDLine)
    /// A DogStatsD event (`_e{…}`) or service check (`_sc|…`): counted, not kept.
    case eventOrCheck
}

extension StatsDLine {
    /// Part of a received buffer: lines are read where they arrived, never copied.
    public typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    /// A label value's longest (as for custom metrics).
    static let maxValueBytes = MetricLabels.maxValueBytes
    /// The most values one line may carry (`name:v1:v2:…|ms`).
    static let maxValues = 1000

    /// Reads one line (no newline in it; a trailing `\r` is ignored).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(StatsDLineError) -> StatsDParsed {
        let bytes = trimmed(line[...])
        if isEventOrCheck(bytes) { return .eventOrCheck }
        let parts = try split(bytes)
        var parsed = try shape(name: parts.name, rest: parts.rest)
        parsed.values = try values(parts.values, of: parsed.type)
        return .metric(parsed)
    }

    /// Without a trailing `\r`.
    static func trimmed(_ bytes: Bytes) -> Bytes { bytes.last == ascii("\r") ? bytes.dropLast() : bytes }

    /// A DogStatsD event (`_e{`) or service check (`_sc|`).
    static func isEventOrCheck(_ bytes: Bytes) -> Bool {
        bytes.first == ascii("_")
            && (bytes.starts(with: [ascii("_"), ascii("e"), ascii("{")]) || bytes.starts(with: [ascii("_"), ascii("s"), ascii("c"), ascii("|")]))
    }

    /// The name (up to the first `:`), the values (up to the next `|`) and the rest (from that `|`).
    static func split(_ bytes: Bytes) throws(StatsDLineError) -> (name: Bytes, values: Bytes, rest: Bytes) {
        guard let colon = bytes.firstIndex(of: ascii(":")) else { throw StatsDLineError(.badLine, "no ':' after the name") }
        guard let bar = bytes[(colon + 1)...].firstIndex(of: ascii("|")) else { throw StatsDLineError(.badLine, "no '|type' after the value") }
        return (bytes[..<colon], bytes[(colon + 1)..<bar], bytes[bar...])
    }

    /// Whether the rest (`|type|…`) has a `|T<unix seconds>` field: a line with a time of its own.
    static func hasTimestampField(_ rest: Bytes) -> Bool {
        var index = rest.startIndex
        while let bar = rest[index...].firstIndex(of: ascii("|")) {
            index = bar + 1
            if index < rest.endIndex, rest[index] == ascii("T") { return true }
        }
        return false
    }

    /// Everything but the values: the name and its tags, then the rest (`|type|@rate|#tags|T…`).
    /// Lines that differ only in their values read the same here (the reader remembers it).
    static func shape(name nameBytes: Bytes, rest: Bytes) throws(StatsDLineError) -> StatsDLine {
        var tags = TagList()
        let name = try nameAndTags(nameBytes, into: &tags)
        var fields = rest.dropFirst().split(separator: ascii("|"), omittingEmptySubsequences: false)[...]
        guard let typeField = fields.popFirst(), let type = MetricType(rawValue: text(typeField)) else {
            throw StatsDLineError(.badLine, "the type is not one of c, g, ms, h, d, s")
        }
        var rate = SampleRate.all
        var timestamp: Double?
        for field in fields {
            switch field.first {
            case ascii("@"):
                guard let value = number(field.dropFirst()), let valid = SampleRate(value) else {
                    throw StatsDLineError(.badSampleRate, "the sample rate \(text(field)) is not a number in (0, 1]")
                }
                rate = valid
            case ascii("#"):
                try tags.read(field.dropFirst(), separator: ascii(":"))
            case ascii("T"):
                guard let seconds = number(field.dropFirst()), seconds > 0, seconds < 1e11 else {
                    throw StatsDLineError(.badTimestamp, "the timestamp \(text(field)) is not Unix seconds")
                }
                timestamp = seconds.rounded(.down)
            default:
                continue  // DogStatsD's |c:container, |e:external data, fields to come: ignored
            }
        }
        return StatsDLine(name: name, type: type, values: [], sampleRate: rate, tags: try tags.finished(), timestamp: timestamp,
                          droppedTags: tags.dropped)
    }

    /// The values section (`812` or `1:2:3`) as `type` reads it.
    static func values(_ section: Bytes, of type: MetricType) throws(StatsDLineError) -> [Value] {
        var values: [Value] = []
        var start = section.startIndex
        while true {
            let end = section[start...].firstIndex(of: ascii(":")) ?? section.endIndex
            guard values.count < maxValues else { throw StatsDLineError(.badValue, "more than \(maxValues) values on one line") }
            values.append(try value(section[start..<end], of: type))
            guard end < section.endIndex else { return values }
            start = end + 1
        }
    }

    /// Each value of the section in turn; the usual line, of one value, without an array (the
    /// reader's hot path). All are checked before the first is handed over: a line is taken whole
    /// or refused whole.
    static func forEachValue(in section: Bytes, of type: MetricType, _ body: (Value) throws(StatsDLineError) -> Void) throws(StatsDLineError) {
        guard section.contains(ascii(":")) else { return try body(value(section, of: type)) }
        for value in try values(section, of: type) { try body(value) }
    }

    /// One value as `type` reads it.
    static func value(_ bytes: Bytes, of type: MetricType) throws(StatsDLineError) -> Value {
        if type == .set {
            guard !bytes.isEmpty else { throw StatsDLineError(.badValue, "a set's member is empty") }
            return .member(text(bytes))
        }
        guard let parsed = number(bytes), parsed.isFinite else { throw StatsDLineError(.badValue, "the value '\(text(bytes))' is not a number") }
        switch type {
        case .gauge where bytes.first == ascii("+") || bytes.first == ascii("-"):
            return .change(parsed)
        case .counter where parsed < 0:
            throw StatsDLineError(.badValue, "a counter's value is an increment, ≥ 0; got \(text(bytes))")
        default:
            return .number(parsed)
        }
    }

    /// The name with the tags written into it taken out: SignalFX `name[k=v,…]rest` first, else
    /// the first `#` (Librato) or `,` (InfluxDB) starts `k=v,…`.
    private static func nameAndTags(_ bytes: Bytes, into tags: inout TagList) throws(StatsDLineError) -> String {
        let open = bytes.firstIndex(of: ascii("[")), close = bytes.firstIndex(of: ascii("]"))
        var name: String
        switch (open, close) {
        case let (open?, close?) where open < close:
            try tags.read(bytes[(open + 1)..<close], separator: ascii("="))
            name = text(bytes[..<open]) + text(bytes[(close + 1)...])
        case (nil, nil):
            if let start = bytes.firstIndex(where: { $0 == ascii("#") || $0 == ascii(",") }) {
                try tags.read(bytes[(start + 1)...], separator: ascii("="))
                name = text(bytes[..<start])
            } else {
                name = text(bytes)
            }
        default:
            throw StatsDLineError(.badLine, "unbalanced '[' ']' in the name (SignalFX tags)")
        }
        guard !name.isEmpty else { throw StatsDLineError(.badLine, "the name is empty") }
        return name
    }

    /// A number in the usual decimal forms (`812`, `-0.5`, `1e3`, `+2`); nil for anything else.
    static func number(_ bytes: Bytes) -> Double? {
        // The common case, digits with at most a fraction, read exactly without a String.
        var index = bytes.startIndex, negative = false
        if index < bytes.endIndex, bytes[index] == ascii("-") || bytes[index] == ascii("+") {
            negative = bytes[index] == ascii("-")
            index += 1
        }
        var mantissa: UInt64 = 0, digits = 0, fractionDigits = 0, seenPoint = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= ascii("0"), byte <= ascii("9") {
                guard digits < 15 else { return parsedSlowly(bytes) }
                mantissa = mantissa * 10 + UInt64(byte - ascii("0"))
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if byte == ascii("."), !seenPoint {
                seenPoint = true
            } else {
                return parsedSlowly(bytes)
            }
            index += 1
        }
        guard digits > 0 else { return nil }
        let magnitude = fractionDigits == 0 ? Double(mantissa) : Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
    }

    /// 10^0 … 10^15, exact as doubles: a mantissa below 10^15 divided by one is correctly rounded.
    private static let powersOfTen: [Double] = (0...15).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    /// Exponents and long mantissas, through the standard library's parser.
    private static func parsedSlowly(_ bytes: Bytes) -> Double? {
        guard !bytes.isEmpty, bytes.count <= 64,
              bytes.allSatisfy({ ($0 >= ascii("0") && $0 <= ascii("9")) || $0 == ascii(".") || $0 == ascii("e") || $0 == ascii("E") || $0 == ascii("-") || $0 == ascii("+") })
        else { return nil }
        return Double(text(bytes))
    }

    static func text(_ bytes: Bytes) -> String { String(decoding: bytes, as: UTF8.self) }
    static func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(ascii: character) }
}

/// The tags of one line as they are read, from the name and from `|#`: keys made label names,
/// reserved ones refused, values bounded.
struct TagList {
    private var tags: [StatsDLine.Tag] = []
    private(set) var dropped = StatsDLine.DroppedTags()

    /// Reads `k<separator>v,k<separator>v…`; a tag without a value (or an empty key) is dropped and counted.
    mutating func read(_ bytes: some Collection<UInt8>, separator: UInt8) throws(StatsDLineError) {
        for tag in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            guard let split = tag.firstIndex(of: separator), split != tag.startIndex, tag.index(after: split) != tag.endIndex else {
                dropped.withoutValue += 1
                continue
            }
            let key = MetricNaming.labelName(tag[..<split])
            guard !MetricNaming.isReservedLabel(key) else {
                throw StatsDLineError(.badLabel, "the tag '\(key)' is a reserved label name (__…, le, quantile, job, instance)")
            }
            let value = String(decoding: tag[tag.index(after: split)...], as: UTF8.self)
            guard value.utf8.count <= StatsDLine.maxValueBytes else {
                throw StatsDLineError(.badLabel, "the tag '\(key)' has a value longer than \(StatsDLine.maxValueBytes) bytes")
            }
            if let same = tags.firstIndex(where: { $0.key == key }) { tags.remove(at: same) }
            tags.append(StatsDLine.Tag(key: key, value: value))
        }
    }

    /// The tags kept: the first eight in key order, the rest counted as dropped.
    mutating func finished() throws(StatsDLineError) -> [StatsDLine.Tag] {
        guard tags.count > MetricLabels.maxCount else { return tags }
        tags.sort { $0.key < $1.key }
        dropped.pastLimit += tags.count - MetricLabels.maxCount
        return Array(tags.prefix(MetricLabels.maxCount))
    }
}
