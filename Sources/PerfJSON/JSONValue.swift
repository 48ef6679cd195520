/// A parsed JSON value. Numbers keep their source text so that an error can quote what was sent.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double, text: String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a, _), .number(b, _)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// How an error message shows the value: strings quoted, numbers as sent, containers by kind.
    public var quoted: String {
        switch self {
        case .null: "null"
        case let .bool(value): value ? "true" : "false"
        case let .number(_, text): text
        case let .string(text): "\"" + (text.count > 60 ? String(text.prefix(60)) + "…" : text) + "\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Why a JSON text could not be parsed, and where (byte offset from the start of the body).
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public let offset: Int
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}
