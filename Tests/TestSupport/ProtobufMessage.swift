/// A protobuf message read field by field, for tests that check what perfmond encodes (the
/// protobuf exposition, remote write) without the code that wrote it: every field as its wire
/// value, nested messages and packed lists decoded on request.
public struct ProtobufMessage: Sendable {
    public enum Value: Sendable {
        case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32)
    }

    public let fields: [(number: Int, value: Value)]

    public init(_ bytes: [UInt8]) throws {
        var reader = Reader(bytes: bytes)
        var fields: [(number: Int, value: Value)] = []
        while !reader.isAtEnd {
            let tag = try reader.varint()
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: fields.append((number, .varint(try reader.varint())))
            case 1: fields.append((number, .fixed64(try reader.fixed(8))))
            case 2: fields.append((number, .bytes(try reader.take(Int(try reader.varint())))))
            case 5: fields.append((number, .fixed32(UInt32(try reader.fixed(4)))))
            default: throw Failure("wire type \(tag & 7) of field \(number)")
            }
        }
        self.fields = fields
    }

    /// The messages of a length-delimited stream (the exposition's `encoding=delimited`).
    public static func delimited(_ bytes: [UInt8]) throws -> [ProtobufMessage] {
        var reader = Reader(bytes: bytes)
        var messages: [ProtobufMessage] = []
        while !reader.isAtEnd { messages.append(try ProtobufMessage(try reader.take(Int(try reader.varint())))) }
        return messages
    }

    public func messages(_ number: Int) throws -> [ProtobufMessage] {
        try fields.filter { $0.number == number }.map { field in
            guard case let .bytes(bytes) = field.value else { throw Failure("field \(number) is not a message") }
            return try ProtobufMessage(bytes)
        }
    }

    public func message(_ number: Int) throws -> ProtobufMessage? { try messages(number).last }

    public func string(_ number: Int) -> String? {
        guard case let .bytes(bytes)? = fields.last(where: { $0.number == number })?.value else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func uint(_ number: Int) -> UInt64? {
        guard case let .varint(value)? = fields.last(where: { $0.number == number })?.value else { return nil }
        return value
    }

    public func sint(_ number: Int) -> Int64? { uint(number).map(Self.unzigzag) }

    public func double(_ number: Int) -> Double? {
        guard case let .fixed64(bits)? = fields.last(where: { $0.number == number })?.value else { return nil }
        return Double(bitPattern: bits)
    }

    public func packedSInts(_ number: Int) throws -> [Int64] {
        var result: [Int64] = []
        for case let .bytes(bytes) in fields.filter({ $0.number == number }).map(\.value) {
            var reader = Reader(bytes: bytes)
            while !reader.isAtEnd { result.append(Self.unzigzag(try reader.varint())) }
        }
        return result
    }

    public func packedDoubles(_ number: Int) throws -> [Double] {
        var result: [Double] = []
        for case let .bytes(bytes) in fields.filter({ $0.number == number }).map(\.value) {
            var reader = Reader(bytes: bytes)
            while !reader.isAtEnd { result.append(Double(bitPattern: try reader.fixed(8))) }
        }
        return result
    }

    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = "protobuf: " + description }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var isAtEnd: Bool { offset >= bytes.count }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard offset < bytes.count, shift < 64 else { throw Failure("a varint runs past the end") }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }

        mutating func fixed(_ size: Int) throws -> UInt64 {
            let slice = try take(size)
            return slice.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }

        mutating func take(_ count: Int) throws -> [UInt8] {
            guard count >= 0, offset + count <= bytes.count else { throw Failure("a field runs past the end") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
    }
}
