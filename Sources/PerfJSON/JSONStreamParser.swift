/// What a `JSONStreamParser` reports, as the text goes by. The handler chooses what it is told:
/// a container it declines is skipped whole (still checked) and reported as one skipped value,
/// and a member's value is decoded only when the handler asks for it after seeing the key.
public protocol JSONStreamHandler {
    /// A container starts where a value goes: true to be told its members or elements, false to
    /// have it skipped and reported as `value(nil, …)` when it ends.
    mutating func begin(object: Bool, at offset: Int) throws(JSONSyntaxError) -> Bool
    /// The container last entered ends.
    mutating func end(at offset: Int) throws(JSONSyntaxError)
    /// A member's key, in an object that was entered: true to have its value decoded.
    mutating func key(_ key: String) -> Bool
    /// An element of an entered array, or a top-level value, starts: true to have it decoded.
    mutating func element() -> Bool
    /// A value that is not an entered container: decoded when it was asked for, else nil.
    mutating func value(_ value: JSONValue?, at offset: Int) throws(JSONSyntaxError)
}

/// A JSON parser fed in pieces of any size — a request body as it arrives — that keeps nothing
/// of what its handler does not ask for: a 50 MB batch of LLM call logs is read with the memory
/// of the few members used, however long the prompts inside it are.
///
/// The input is a sequence of JSON values separated by whitespace (one value, or NDJSON); the
/// grammar is checked everywhere, skipped parts included, but the UTF-8 of skipped strings is
/// not (they are never turned into text). Written by hand: no package on this machine parses
/// incrementally, and `JSONParser` needs the whole text.
public struct JSONStreamParser<Handler: JSONStreamHandler> {
    public var handler: Handler

    /// What the next structural byte must be.
    private enum Expect {
        case value, valueOrArrayEnd, keyOrObjectEnd, key, colon, commaOrEnd
    }

    /// A token that may span pieces of input.
    private enum Token {
        case none
        case string(isKey: Bool)
        case escape(isKey: Bool)
        case unicode(isKey: Bool, digits: Int, scalar: UInt32)
        case number
        case literal(LiteralKind, matched: Int)
    }

    private enum LiteralKind {
        case `true`, `false`, null
        var bytes: StaticString {
            switch self {
            case .true: "true"
            case .false: "false"
            case .null: "null"
            }
        }
    }

    private var expect = Expect.value
    private var token = Token.none
    /// Open containers, innermost last (true: object).
    private var containers: [Bool] = []
    /// Containers open inside the one the handler declined (0: not skipping).
    private var skipDepth = 0
    /// Whether the value now being read is decoded for the handler.
    private var keepsValue = false
    /// The text of the string, key or number being decoded.
    private var text: [UInt8] = []
    private var pendingHighSurrogate: UInt32?
    private var tokenStart = 0
    /// Bytes consumed before the current piece.
    private var consumed = 0

    /// Nesting deeper than this is refused, as `JSONParser` does.
    public static var maximumDepth: Int { 64 }
    /// Decoded strings longer than this keep only their first bytes (the handler truncates
    /// further); keys that long match nothing.
    public static var maximumKeptStringBytes: Int { 64 * 1024 }
    static var maximumNumberBytes: Int { 512 }

    public init(handler: Handler) {
        self.handler = handler
        text.reserveCapacity(256)
    }

    /// Bytes read so far.
    public var offset: Int { consumed }

    /// Reads the next piece.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let count = bytes.count
        var index = 0
        while index < count {
            switch token {
            case let .string(isKey):
                index = try readString(base, count, from: index, isKey: isKey)
                continue
            case let .escape(isKey):
                try readEscape(base[index], at: index, isKey: isKey)
                index += 1
                continue
            case let .unicode(isKey, digits, scalar):
                try readHexDigit(base[index], at: index, isKey: isKey, digits: digits, scalar: scalar)
                index += 1
                continue
            case .number:
                let byte = base[index]
                if Self.isNumberByte(byte) {
                    guard text.count < Self.maximumNumberBytes else { throw error("number is longer than \(Self.maximumNumberBytes) characters", at: index) }
                    text.append(byte)
                    index += 1
                    continue
                }
                try endNumber(at: index)
            case let .literal(kind, matched):
                let expected = kind.bytes.withUTF8Buffer { $0[matched] }
                guard base[index] == expected else { throw error("invalid literal (expected '\(kind.bytes)')", at: index) }
                index += 1
                if matched + 1 == kind.bytes.utf8CodeUnitCount {
                    token = .none
                    try valueDone(keepsValue ? (kind == .null ? .null : .bool(kind == .true)) : nil, at: index)
                } else {
                    token = .literal(kind, matched: matched + 1)
                }
                continue
            case .none:
                break
            }
            let byte = base[index]
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09:
                index += 1
                continue
            default:
                break
            }
            try structural(byte, at: index)
            index += 1
        }
        consumed += count
    }

    /// The input is complete: checks that nothing is left open.
    public mutating func finish() throws(JSONSyntaxError) {
        if case .number = token { try endNumber(at: 0) }
        guard case .none = token, containers.isEmpty else {
            throw JSONSyntaxError(offset: consumed, message: "unexpected end of the body (a value is not finished)")
        }
        if expect == .colon || expect == .key { throw JSONSyntaxError(offset: consumed, message: "unexpected end of the body") }
    }

    // MARK: - Structure

    private mutating func structural(_ byte: UInt8, at index: Int) throws(JSONSyntaxError) {
        switch expect {
        case .value, .valueOrArrayEnd:
            if byte == UInt8(ascii: "]"), expect == .valueOrArrayEnd { return try close(object: false, at: index) }
            try beginValue(byte, at: index)
        case .keyOrObjectEnd, .key:
            if byte == UInt8(ascii: "}"), expect == .keyOrObjectEnd { return try close(object: true, at: index) }
            guard byte == UInt8(ascii: "\"") else { throw error("expected a member name in double quotes, found \(Self.describe(byte))", at: index) }
            startString(isKey: true, at: index)
        case .colon:
            guard byte == UInt8(ascii: ":") else { throw error("expected ':' after the member name, found \(Self.describe(byte))", at: index) }
            expect = .value
        case .commaOrEnd:
            guard let inObject = containers.last else {
                // Between top-level values: the next one starts here.
                return try beginValue(byte, at: index)
            }
            switch byte {
            case UInt8(ascii: ","):
                expect = inObject ? .key : .value
                keepsValue = false
            case UInt8(ascii: "}") where inObject, UInt8(ascii: "]") where !inObject:
                try close(object: inObject, at: index)
            default:
                throw error("expected ',' or '\(inObject ? "}" : "]")', found \(Self.describe(byte))", at: index)
            }
        }
    }

    private mutating func beginValue(_ byte: UInt8, at index: Int) throws(JSONSyntaxError) {
        tokenStart = consumed + index
        if skipDepth == 0, containers.last != true { keepsValue = handler.element() }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let isObject = byte == UInt8(ascii: "{")
            guard containers.count < Self.maximumDepth else { throw error("nesting is deeper than \(Self.maximumDepth) levels", at: index) }
            containers.append(isObject)
            if skipDepth > 0 {
                skipDepth += 1
            } else if try !handler.begin(object: isObject, at: consumed + index) {
                skipDepth = 1
            }
            expect = isObject ? .keyOrObjectEnd : .valueOrArrayEnd
            keepsValue = false
        case UInt8(ascii: "\""):
            startString(isKey: false, at: index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            text.removeAll(keepingCapacity: true)
            text.append(byte)
            token = .number
        case UInt8(ascii: "t"): token = .literal(.true, matched: 1)
        case UInt8(ascii: "f"): token = .literal(.false, matched: 1)
        case UInt8(ascii: "n"): token = .literal(.null, matched: 1)
        default:
            throw error("expected a value, found \(Self.describe(byte))", at: index)
        }
    }

    private mutating func close(object: Bool, at index: Int) throws(JSONSyntaxError) {
        containers.removeLast()
        if skipDepth > 0 {
            skipDepth -= 1
            if skipDepth == 0 { try handler.value(nil, at: consumed + index) }
        } else {
            try handler.end(at: consumed + index)
        }
        expect = .commaOrEnd
        keepsValue = false
    }

    /// A scalar value, or a skipped container, is complete.
    private mutating func valueDone(_ value: JSONValue?, at index: Int) throws(JSONSyntaxError) {
        if skipDepth == 0 { try handler.value(value, at: consumed + index) }
        expect = .commaOrEnd
        keepsValue = false
    }

    // MARK: - Strings

    private mutating func startString(isKey: Bool, at index: Int) {
        tokenStart = consumed + index
        text.removeAll(keepingCapacity: true)
        pendingHighSurrogate = nil
        token = .string(isKey: isKey)
    }

    /// Whether the string now being read is turned into text.
    private func decodes(isKey: Bool) -> Bool { skipDepth == 0 && (isKey || keepsValue) }

    /// Reads string content from `index` up to its end or the end of the piece; returns where it stopped.
    private mutating func readString(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int, isKey: Bool) throws(JSONSyntaxError) -> Int {
        var index = Self.ordinaryBytes(base, count, from: start)
        while index < count {
            let byte = base[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
            index += 1
        }
        let keeps = decodes(isKey: isKey)
        if keeps, index > start {
            flushSurrogate()
            keep(UnsafeBufferPointer(start: base + start, count: index - start))
        }
        guard index < count else { return index }
        let byte = base[index]
        if byte == 0x5C {
            token = .escape(isKey: isKey)
            return index + 1
        }
        guard byte == 0x22 else { throw error("control character \(Self.describe(byte)) in a string (escape it)", at: index) }
        token = .none
        if keeps { flushSurrogate() }
        if isKey {
            keepsValue = skipDepth == 0 && handler.key(String(decoding: text, as: UTF8.self))
            expect = .colon
        } else {
            try valueDone(keeps ? .string(String(decoding: text, as: UTF8.self)) : nil, at: index + 1)
        }
        return index + 1
    }

    /// Where the first byte that is not ordinary string content (`"`, `\`, a control character) is
    /// at or after `start`, or where the 8-byte words end: prompts and responses are most of a
    /// LiteLLM body, so they are scanned a word at a time (the classic has-zero-byte tests),
    /// which measured 2.3× the MB/s of a byte loop on 100 KB payloads (`make bench`).
    @inline(__always)
    private static func ordinaryBytes(_ base: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        let quotes = SIMD16<UInt8>(repeating: 0x22), backslashes = SIMD16<UInt8>(repeating: 0x5C), space = SIMD16<UInt8>(repeating: 0x20)
        var index = start
        while index + 16 <= count {
            let bytes = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<UInt8>.self)
            if any((bytes .== quotes) .| (bytes .== backslashes) .| (bytes .< space)) { break }
            index += 16
        }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
            if special & highs != 0 { break }
            index += 8
        }
        return index
    }

    private mutating func readEscape(_ byte: UInt8, at index: Int, isKey: Bool) throws(JSONSyntaxError) {
        let decoded: UInt8
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = byte
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            token = .unicode(isKey: isKey, digits: 0, scalar: 0)
            return
        default:
            throw error("invalid escape '\\\(Self.describe(byte))' in a string", at: index)
        }
        token = .string(isKey: isKey)
        if decodes(isKey: isKey) {
            flushSurrogate()
            withUnsafeBytes(of: decoded) { keep($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    private mutating func readHexDigit(_ byte: UInt8, at index: Int, isKey: Bool, digits: Int, scalar: UInt32) throws(JSONSyntaxError) {
        let digit: UInt32
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
        default: throw error("invalid \\u escape: \(Self.describe(byte)) is not a hex digit", at: index)
        }
        let value = scalar << 4 | digit
        guard digits == 3 else {
            token = .unicode(isKey: isKey, digits: digits + 1, scalar: value)
            return
        }
        token = .string(isKey: isKey)
        guard decodes(isKey: isKey) else { return }
        switch value {
        case 0xD800...0xDBFF:
            flushSurrogate()
            pendingHighSurrogate = value
        case 0xDC00...0xDFFF:
            if let high = pendingHighSurrogate {
                pendingHighSurrogate = nil
                keepScalar(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
            } else {
                keepScalar(0xFFFD)
            }
        default:
            flushSurrogate()
            keepScalar(value)
        }
    }

    /// A high surrogate not followed by its low half stands for U+FFFD.
    private mutating func flushSurrogate() {
        if pendingHighSurrogate != nil {
            pendingHighSurrogate = nil
            keepScalar(0xFFFD)
        }
    }

    private mutating func keepScalar(_ value: UInt32) {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(4)
        for unit in String(Character(Unicode.Scalar(value) ?? "\u{FFFD}")).utf8 { utf8.append(unit) }
        utf8.withUnsafeBufferPointer { keep($0) }
    }

    private mutating func keep(_ bytes: UnsafeBufferPointer<UInt8>) {
        let room = Self.maximumKeptStringBytes - text.count
        if room > 0 { text.append(contentsOf: bytes.prefix(room)) }
    }

    // MARK: - Numbers

    private mutating func endNumber(at index: Int) throws(JSONSyntaxError) {
        token = .none
        guard Self.isValidNumber(text) else {
            throw JSONSyntaxError(offset: tokenStart, message: "invalid number '\(String(decoding: text, as: UTF8.self))'")
        }
        var value: JSONValue?
        if keepsValue, skipDepth == 0 {
            let source = String(decoding: text, as: UTF8.self)
            guard let number = Double(source), number.isFinite else {
                throw JSONSyntaxError(offset: tokenStart, message: "number '\(source)' is out of range")
            }
            value = .number(number, text: source)
        }
        try valueDone(value, at: index)
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): true
        default: false
        }
    }

    /// RFC 8259's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isValidNumber(_ text: [UInt8]) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < text.count, text[index] >= UInt8(ascii: "0"), text[index] <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }
        if index < text.count, text[index] == UInt8(ascii: "-") { index += 1 }
        guard index < text.count else { return false }
        if text[index] == UInt8(ascii: "0") { index += 1 } else if digits() == 0 { return false }
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < text.count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == text.count
    }

    // MARK: - Errors

    private func error(_ message: String, at index: Int) -> JSONSyntaxError {
        JSONSyntaxError(offset: consumed + index, message: message)
    }

    private static func describe(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
    }
}
