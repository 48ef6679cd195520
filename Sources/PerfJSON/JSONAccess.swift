/// Reading parsed JSON without a switch at every step: for the command-line tools that print what
/// the daemon answered.
extension JSONValue {
    /// The value at a path of object keys; nil where a key is missing or a value is not an object.
    public func at(_ path: String...) -> JSONValue? {
        path.reduce(self as JSONValue?) { $0?[$1] }
    }

    public var numberValue: Double? {
        if case let .number(value, _) = self { return value }
        return nil
    }

    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(items) = self { return items }
        return nil
    }

    /// An object's members in their order.
    public var members: [(String, JSONValue)]? {
        if case let .object(members) = self { return members }
        return nil
    }
}
