/// Reads the protobuf wire format (varints, fixed 32/64-bit, length-delimited fields) from a
/// buffer, field by field, without building anything: the OTLP decoders ask for what they keep
/// and skip the rest. Written by hand rather than with swift-protobuf's generated types (see
/// docs/architecture.md): the few messages OTLP needs, read straight into the events, with no
/// intermediate message objects.
struct ProtobufReader {
    /// The wire types of a field's tag.
    enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private let end: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        position = 0
        end = bytes.count
    }

    private init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(ProtobufError) -> (number: UInt64, type: WireType)? {
        guard position < end else { return nil }
        let tag = try varint()
        guard let type = WireType(rawValue: tag & 7), tag >> 3 != 0 else { throw ProtobufError("a field tag with wire type \(tag & 7) or number 0", at: position) }
        return (tag >> 3, type)
    }

    @inline(__always)
    mutating func varint() throws(ProtobufError) -> UInt64 {
        if position < end, bytes[position] < 0x80 {  // most tags and lengths: one byte
            position += 1
            return UInt64(bytes[position - 1])
        }
        return try longVarint()
    }

    private mutating func longVarint() throws(ProtobufError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let byte = bytes[position]
            position += 1
            if shift == 63, byte > 1 { throw ProtobufError("a varint longer than 64 bits", at: position) }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw ProtobufError.truncated(at: position)
    }

    mutating func fixed64() throws(ProtobufError) -> UInt64 {
        guard end - position >= 8 else { throw ProtobufError.truncated(at: position) }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
        position += 8
        return UInt64(littleEndian: value)
    }

    mutating func fixed32() throws(ProtobufError) -> UInt32 {
        guard end - position >= 4 else { throw ProtobufError.truncated(at: position) }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)
        position += 4
        return UInt32(littleEndian: value)
    }

    mutating func double() throws(ProtobufError) -> Double { Double(bitPattern: try fixed64()) }

    /// A zigzag-encoded `sint32`.
    mutating func sint32() throws(ProtobufError) -> Int32 {
        let raw = UInt32(truncatingIfNeeded: try varint())
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A length-delimited field's byte range.
    mutating func lengthDelimited() throws(ProtobufError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw ProtobufError.truncated(at: position) }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// A reader of an embedded message.
    mutating func message() throws(ProtobufError) -> ProtobufReader {
        ProtobufReader(bytes, range: try lengthDelimited())
    }

    mutating func string() throws(ProtobufError) -> String {
        let range = try lengthDelimited()
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// A length-delimited field's bytes, without copying them.
    mutating func rawBytes() throws(ProtobufError) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[try lengthDelimited()])
    }

    /// The fixed64 values of a repeated field, packed (proto3's way) or not.
    mutating func fixed64s(_ type: WireType, into values: inout [UInt64]) throws(ProtobufError) {
        if type == .fixed64 { return values.append(try fixed64()) }
        let range = try lengthDelimited()
        guard range.count % 8 == 0 else { throw ProtobufError("a packed fixed64 field whose length is no multiple of 8", at: range.lowerBound) }
        values.reserveCapacity(values.count + range.count / 8)
        var packed = ProtobufReader(bytes, range: range)
        while !packed.isAtEnd { values.append(try packed.fixed64()) }
    }

    /// The varint values of a repeated field, packed or not.
    mutating func varints(_ type: WireType, into values: inout [UInt64]) throws(ProtobufError) {
        if type == .varint { return values.append(try varint()) }
        var packed = ProtobufReader(bytes, range: try lengthDelimited())
        while !packed.isAtEnd { values.append(try packed.varint()) }
    }

    /// Skips a field of this wire type.
    mutating func skip(_ type: WireType) throws(ProtobufError) {
        switch type {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw ProtobufError("a group field (proto2's, not OTLP's)", at: position)
        }
    }
}

/// A protobuf body that does not decode: what and where (byte offset in the message).
struct ProtobufError: Error, Equatable {
    let message: String

    init(_ what: String, at offset: Int) {
        message = "\(what) at byte \(offset)"
    }

    static func truncated(at offset: Int) -> ProtobufError { ProtobufError("the message ends inside a field", at: offset) }
}
