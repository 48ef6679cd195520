/// A strict RFC 8259 JSON parser over bytes. Written by hand because ingest needs what
/// Foundation's decoders do not give: byte offsets for syntax errors, the raw text of a wrong
/// value for the error message, invalid UTF-8 refused, and several times their speed.
public struct JSONParser {
    /// What a visitor of an object's members is handed, member by member: its key's UTF-8 bytes
    /// (escapes decoded), its value, and the value's JSON text as it stands in the input (for a
    /// reader that recognises a value it has seen before by its bytes).
    public typealias MemberVisitor = (_ key: UnsafeBufferPointer<UInt8>, _ value: JSONValue, _ text: UnsafeBufferPointer<UInt8>) -> Void

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position: Int
    private let end: Int
    /// Nesting deeper than this is refused, so a hostile body cannot exhaust the stack.
    private static let maximumDepth = 64

    /// Parses `bytes[range]` as exactly one JSON value (surrounding whitespace allowed).
    /// Offsets in errors count from `baseOffset`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>? = nil) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, position: range?.lowerBound ?? 0, end: range?.upperBound ?? bytes.count)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.end else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> JSONValue in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses `bytes[range]` as one JSON value; when it is an object, its members go to `visit`
    /// one by one and the result is nil, otherwise the value is returned. The same errors as `parse`.
    public static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>? = nil, visitingObject visit: MemberVisitor
    ) throws(JSONSyntaxError) -> JSONValue? {
        var parser = JSONParser(bytes: bytes, position: range?.lowerBound ?? 0, end: range?.upperBound ?? bytes.count)
        parser.skipWhitespace()
        var value: JSONValue?
        if parser.peek == UInt8(ascii: "{") {
            try parser.parseMembers(depth: 1, visit)
        } else {
            value = try parser.parseValue(depth: 0)
        }
        parser.skipWhitespace()
        guard parser.position == parser.end else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// Walks a top-level array one element at a time (the array itself must be well-formed): an
    /// element that is an object goes member by member to `visit`, then `objectDone(index)` is
    /// called; any other element is parsed whole and given to `other`.
    public static func forEachElement(
        ofArrayIn bytes: UnsafeBufferPointer<UInt8>,
        object visit: MemberVisitor,
        objectDone: (Int) -> Void,
        other: (Int, JSONValue) -> Void
    ) throws(JSONSyntaxError) {
        var parser = JSONParser(bytes: bytes, position: 0, end: bytes.count)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "[") else { throw parser.error("expected an array") }
        parser.position += 1
        parser.skipWhitespace()
        var index = 0
        if parser.peek == UInt8(ascii: "]") {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                if parser.peek == UInt8(ascii: "{") {
                    try parser.parseMembers(depth: 2, visit)
                    objectDone(index)
                } else {
                    other(index, try parser.parseValue(depth: 1))
                }
                index += 1
                parser.skipWhitespace()
                guard let next = parser.peek else { throw parser.error("unterminated array") }
                parser.position += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else { throw parser.error("expected ',' or ']' in array", at: parser.position - 1) }
            }
        }
        parser.skipWhitespace()
        guard parser.position == parser.end else { throw parser.error("unexpected text after the JSON value") }
    }

    private var peek: UInt8? { position < end ? bytes[position] : nil }

    private func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? position, message: message)
    }

    private mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard let byte = peek else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Self.describe(byte))', expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let start = position
        let count = literal.utf8CodeUnitCount
        guard end - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == literal.utf8Start[$0] }) else {
            throw error("invalid literal, expected \(literal)", at: start)
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        var members: [(String, JSONValue)] = []
        // One allocation for a typical event's members instead of five as the array grows (each
        // growth also looked up the storage's generic metadata: 6 % of batched ingest).
        members.reserveCapacity(16)
        try parseMembers(depth: depth) { key, value, _ in members.append((String(decoding: key, as: UTF8.self), value)) }
        return .object(members)
    }

    /// The members of the object at `position`, each handed to `visit` with its key's UTF-8
    /// bytes (escapes decoded, validity checked) as soon as it is read: the event decoder reads
    /// its fields this way, without building the object or a String per key.
    private mutating func parseMembers(depth: Int, _ visit: MemberVisitor) throws(JSONSyntaxError) {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        position += 1
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key in object") }
            let key = try parseKey()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after object key") }
            position += 1
            skipWhitespace()
            let valueStart = position
            let value = try parseValue(depth: depth)
            let text = UnsafeBufferPointer(rebasing: bytes[valueStart..<position])
            switch key {
            case let .bytes(range): visit(UnsafeBufferPointer(rebasing: bytes[range]), value, text)
            case var .decoded(decoded): decoded.withUTF8 { visit($0, value, text) }
            }
            skipWhitespace()
            guard let next = peek else { throw error("unterminated object") }
            position += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or '}' in object", at: position - 1) }
        }
    }

    /// An object key: where its bytes are in the input when it has no escape (the usual case),
    /// else the decoded text.
    private enum Key {
        case bytes(Range<Int>)
        case decoded(String)
    }

    private mutating func parseKey() throws(JSONSyntaxError) -> Key {
        let start = position
        var index = position + 1
        var ascii = true
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = (start + 1)..<index
                if !ascii, String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) == nil {
                    throw error("invalid UTF-8 in string", at: start)
                }
                position = index + 1
                return .bytes(range)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        // Escapes, control characters or no closing quote: the string parser decides (and words the error).
        return .decoded(try parseString())
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard let next = peek else { throw error("unterminated array") }
            position += 1
            if next == UInt8(ascii: "]") { return .array(elements) }
            guard next == UInt8(ascii: ",") else { throw error("expected ',' or ']' in array", at: position - 1) }
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        // The digits are gathered into an integer while they are checked: most numbers then need
        // no text-to-double conversion (strtod was 3 % of batched ingest).
        var digits: UInt64 = 0, digitCount = 0, fractionDigits = 0
        if peek == UInt8(ascii: "-") { position += 1 }
        guard let first = peek, Self.isDigit(first) else { throw error("invalid number", at: start) }
        if first == UInt8(ascii: "0") {
            position += 1
        } else {
            while let byte = peek, Self.isDigit(byte) {
                if digitCount < 19 { digits = digits &* 10 &+ UInt64(byte &- UInt8(ascii: "0")) }
                digitCount += 1
                position += 1
            }
        }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard let byte = peek, Self.isDigit(byte) else { throw error("invalid number: digits expected after '.'", at: start) }
            while let byte = peek, Self.isDigit(byte) {
                if digitCount < 19 { digits = digits &* 10 &+ UInt64(byte &- UInt8(ascii: "0")) }
                digitCount += 1
                fractionDigits += 1
                position += 1
            }
        }
        var hasExponent = false
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            hasExponent = true
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard let byte = peek, Self.isDigit(byte) else { throw error("invalid number: digits expected in exponent", at: start) }
            while let byte = peek, Self.isDigit(byte) { position += 1 }
        }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
        let text = String(decoding: slice, as: UTF8.self)
        let negative = bytes[start] == UInt8(ascii: "-")
        if !hasExponent, let value = Self.exactDecimal(digits: digits, digitCount: digitCount, fractionDigits: fractionDigits) {
            return .number(negative ? -value : value, text: text)
        }
        guard let value = Double(text) else { throw error("invalid number", at: start) }
        return .number(value, text: text)
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in (0..<exponent).reduce(1.0) { product, _ in product * 10 } }

    /// `digits` / 10^`fractionDigits` when both are exact doubles (at most 15 digits, at most 22
    /// fraction digits): one IEEE division is then correctly rounded, the same double strtod gives
    /// (Clinger's fast path). Nil when the number needs the full conversion.
    private static func exactDecimal(digits: UInt64, digitCount: Int, fractionDigits: Int) -> Double? {
        guard digitCount <= 15, fractionDigits <= 22 else { return nil }
        let value = Double(digits)
        return fractionDigits == 0 ? value : value / powersOfTen[fractionDigits]
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = position
        position += 1
        let contentStart = position
        // Fast path: no escapes. ASCII needs no validation (String(validating:) is generic and
        // instantiated its metadata on every call: 9 % of batched ingest); other bytes are
        // checked once by String(validating:).
        var ascii = true
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[contentStart..<position])
                position += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw error("invalid UTF-8 in string", at: start)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string; it must be escaped") }
            if byte >= 0x80 { ascii = false }
            position += 1
        }
        position = contentStart
        return try parseEscapedString(start: start)
    }

    private mutating func parseEscapedString(start: Int) throws(JSONSyntaxError) -> String {
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unterminated string", at: start) }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = peek else { throw error("unterminated string", at: start) }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw error("invalid escape '\\\(Self.describe(escape))' in string", at: position - 2)
                }
            case 0..<0x20:
                throw error("control character in string; it must be escaped", at: position - 1)
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseUnicodeEscape() throws(JSONSyntaxError) -> [UInt8] {
        let escapeStart = position - 2
        var scalar = try parseHex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard end - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw error("unpaired surrogate in \\u escape", at: escapeStart)
            }
            position += 2
            let low = try parseHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape", at: escapeStart) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw error("unpaired surrogate in \\u escape", at: escapeStart)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape", at: escapeStart) }
        return Array(String(Character(unicode)).utf8)
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard end - position >= 4 else { throw error("invalid \\u escape: four hex digits expected") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape: four hex digits expected")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
