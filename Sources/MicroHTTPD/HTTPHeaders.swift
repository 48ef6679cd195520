/// Request or response header fields, looked up case-insensitively as HTTP requires.
public struct HTTPHeaders: Sendable, Sequence {
    /// Fields in arrival order; names keep the case they were sent with.
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public mutating func add(name: String, value: String) {
        fields.append((name, value))
    }

    /// The first value of the field called `name`, whatever its case.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of the field called `name`, in arrival order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension String {
    /// ASCII case-insensitive comparison, enough for header names and media types.
    /// Names sent in their usual case compare equal at once; others byte by byte.
    func caseInsensitiveEquals(_ other: String) -> Bool {
        if self == other { return true }
        guard utf8.count == other.utf8.count else { return false }
        var a = self, b = other
        return a.withUTF8 { a in
            b.withUTF8 { b in
                for index in a.indices where lowerASCII(a[index]) != lowerASCII(b[index]) { return false }
                return true
            }
        }
    }
}

@inline(__always)
private func lowerASCII(_ byte: UInt8) -> UInt8 {
    (byte >= 65 && byte <= 90) ? byte | 0x20 : byte
}
