/// Building and writing JSON answers with the same `JSONValue` the parser produces. Numbers are
/// always finite (NaN and infinities become 0, as api.md §0 requires) and keys keep their order.
extension JSONValue {
    /// A number from a Double, written in its shortest exact form.
    public static func double(_ value: Double) -> JSONValue {
        .number(value.isFinite ? value : 0, text: JSONNumber.format(value))
    }

    public static func int(_ value: Int) -> JSONValue {
        .number(Double(value), text: String(value))
    }

    /// Serialized compactly.
    public var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    public func render(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .number(_, text): out += text
        case let .string(text): JSONString.append(text, to: &out)
        case let .array(values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.render(into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                JSONString.append(key, to: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }

    /// The member called `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

/// JSON numbers as perfmond writes them.
public enum JSONNumber {
    /// Integers without a fraction, others in Swift's shortest round-trip form; non-finite as 0.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// For messages: at most two decimals, no trailing zeros (`85.5`, `5200`).
    public static func rounded(_ value: Double) -> String {
        format((value * 100).rounded() / 100)
    }
}

/// JSON string literals per RFC 8259.
public enum JSONString {
    public static func append(_ text: String, to out: inout String) {
        out += "\""
        // The usual case, nothing to escape: append it whole.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    public static func quoted(_ text: String) -> String {
        var out = ""
        append(text, to: &out)
        return out
    }
}
