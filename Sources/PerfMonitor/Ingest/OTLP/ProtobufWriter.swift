/// Writes the protobuf wire format: the few messages perfmond answers with (OTLP's export
/// responses, `google.rpc.Status`), field by field.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

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

    /// A `fixed64` field (omitted at 0).
    public mutating func fixed64(_ number: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        tag(number, 1)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `double` field, written whatever its value (a oneof's member must be present).
    public mutating func double(_ number: UInt64, _ value: Double) {
        tag(number, 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A `string` field (omitted when empty).
    public mutating func string(_ number: UInt64, _ text: String) {
        guard !text.isEmpty else { return }
        tag(number, 2)
        varint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    /// An embedded message field.
    public mutating func message(_ number: UInt64, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        tag(number, 2)
        varint(UInt64(nested.bytes.count))
        bytes.append(contentsOf: nested.bytes)
    }
}
