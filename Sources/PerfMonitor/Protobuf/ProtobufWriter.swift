/// Writes the protobuf wire format field by field: the few messages perfmond answers or sends
/// (OTLP's export responses, `google.rpc.Status`, the Prometheus exposition's `MetricFamily`,
/// remote write's `WriteRequest`). Nested messages are written in place and their length put in
/// front afterwards, so a large message costs one buffer, not one per level.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ number: UInt64, _ wireType: UInt64) { varint(number << 3 | wireType) }

    /// An `int32`/`int64` field (omitted at 0, as proto3 writes defaults).
    public mutating func int(_ number: UInt64, _ value: Int64) {
        guard value != 0 else { return }
        tag(number, 0)
        varint(UInt64(bitPattern: value))
    }

    /// A `uint32`/`uint64` field (omitted at 0).
    public mutating func uint(_ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(number, 0)
        varint(value)
    }

    /// A `sint32`/`sint64` field, zigzag-encoded (omitted at 0).
    public mutating func sint(_ number: UInt64, _ value: Int64) {
        guard value != 0 else { return }
        tag(number, 0)
        varint(Self.zigzag(value))
    }

    /// A `fixed64` field (omitted at 0).
    public mutating func fixed64(_ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(number, 1)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `double` field, written whatever its value (a oneof's member must be present).
    public mutating func double(_ number: UInt64, _ value: Double) {
        tag(number, 1)
        rawDouble(value)
    }

    /// A `string` field (omitted when empty).
    public mutating func string(_ number: UInt64, _ text: String) {
        guard !text.isEmpty else { return }
        tag(number, 2)
        varint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    /// A `string` or `bytes` field from bytes already encoded (omitted when empty).
    public mutating func bytes(_ number: UInt64, _ value: UnsafeBufferPointer<UInt8>) {
        guard !value.isEmpty else { return }
        tag(number, 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A packed `repeated double` field (omitted when empty).
    public mutating func packedDoubles(_ number: UInt64, _ values: [Double]) {
        guard !values.isEmpty else { return }
        tag(number, 2)
        varint(UInt64(values.count * 8))
        for value in values { rawDouble(value) }
    }

    /// An embedded message field.
    public mutating func message(_ number: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        tag(number, 2)
        lengthDelimited(body)
    }

    /// What `body` writes, preceded by its length as a varint (a message field's value, or one
    /// message of a delimited stream).
    /// A byte is kept for the length first: most nested messages (a label, a bucket) are shorter
    /// than 128 bytes, and then nothing moves; a longer one has the rest of its varint inserted.
    public mutating func lengthDelimited(_ body: (inout ProtobufWriter) -> Void) {
        let start = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - start - 1
        if length < 0x80 {
            bytes[start] = UInt8(length)
        } else {
            bytes.remove(at: start)
            insertLength(at: start)
        }
    }

    /// Puts the length of what was written since `start` in front of it, as a varint.
    public mutating func insertLength(at start: Int) {
        var prefix: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var value = UInt64(bytes.count - start), size = 0
        withUnsafeMutableBytes(of: &prefix) { prefix in
            while value >= 0x80 {
                prefix[size] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                size += 1
            }
            prefix[size] = UInt8(value)
            size += 1
            bytes.insert(contentsOf: prefix[0..<size], at: start)
        }
    }

    /// Forgets what was written from `start` on (a message that turned out empty).
    public mutating func truncate(to start: Int) {
        bytes.removeSubrange(start...)
    }

    /// Bytes already encoded, as they are (another message's fields).
    public mutating func raw(_ encoded: [UInt8]) {
        bytes.append(contentsOf: encoded)
    }

    private mutating func rawDouble(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
}
