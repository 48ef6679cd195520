import CZlib

/// Appends little-endian fixed-width values and length-prefixed strings: the snapshot's encoding.
/// Written by hand because the snapshot is large (every bucket of every series) and written on a
/// timer: a flat byte format costs a fraction of JSON or Codable, and reads back without a schema.
struct SnapshotWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1 << 16) {
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func count(_ value: Int) { u32(UInt32(value)) }

    mutating func i64(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func i32(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func f64(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A counted list of doubles.
    mutating func f64s(_ values: [Double]) {
        count(values.count)
        for value in values { f64(value) }
    }

    mutating func string(_ value: String) {
        count(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    /// A length-prefixed run of bytes (a section another component encoded).
    mutating func blob(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func optionalString(_ value: String?) {
        if let value {
            u8(1)
            string(value)
        } else {
            u8(0)
        }
    }
}

/// Reads what `SnapshotWriter` wrote, checking every length against what is left, so that a
/// truncated or damaged file ends in a `SnapshotError`, never in a crash or a huge allocation.
struct SnapshotReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ size: Int) throws(SnapshotError) -> ArraySlice<UInt8> {
        guard size >= 0, bytes.count - offset >= size else { throw .damaged("ends early at byte \(offset)") }
        defer { offset += size }
        return bytes[offset..<offset + size]
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(SnapshotError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (shift * 8) }
        return value
    }

    mutating func u8() throws(SnapshotError) -> UInt8 { try fixed(UInt8.self) }
    mutating func u32() throws(SnapshotError) -> UInt32 { try fixed(UInt32.self) }
    mutating func i32() throws(SnapshotError) -> Int32 { try fixed(Int32.self) }
    mutating func i64() throws(SnapshotError) -> Int64 { try fixed(Int64.self) }
    mutating func f64() throws(SnapshotError) -> Double { Double(bitPattern: try fixed(UInt64.self)) }

    /// A count of items each at least `itemSize` bytes long: more than the bytes left is damage.
    mutating func count(itemSize: Int) throws(SnapshotError) -> Int {
        let value = Int(try u32())
        guard value * max(1, itemSize) <= bytes.count - offset else {
            throw .damaged("a count of \(value) at byte \(offset - 4) is larger than the rest of the file")
        }
        return value
    }

    mutating func f64s() throws(SnapshotError) -> [Double] {
        var values: [Double] = []
        for _ in 0..<(try count(itemSize: 8)) { values.append(try f64()) }
        return values
    }

    mutating func string() throws(SnapshotError) -> String {
        let length = try count(itemSize: 1)
        let slice = try take(length)
        guard let text = String(validating: slice, as: UTF8.self) else { throw .damaged("invalid UTF-8 at byte \(offset - length)") }
        return text
    }

    mutating func blob() throws(SnapshotError) -> [UInt8] {
        Array(try take(try count(itemSize: 1)))
    }

    mutating func optionalString() throws(SnapshotError) -> String? {
        switch try u8() {
        case 0: return nil
        case 1: return try string()
        case let flag: throw .damaged("unexpected flag \(flag) at byte \(offset - 1)")
        }
    }

    /// The bytes from `offset` to the end.
    var rest: ArraySlice<UInt8> { bytes[offset...] }
}

/// Why a snapshot cannot be used: the daemon moves the file aside and starts fresh.
public enum SnapshotError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Not a perfmond snapshot, or one damaged (truncated, wrong checksum, impossible values).
    case damaged(String)
    /// A snapshot written by a version of perfmond whose format this one does not read.
    case incompatible(String)

    public var description: String {
        switch self {
        case let .damaged(reason): "damaged snapshot: \(reason)"
        case let .incompatible(reason): "incompatible snapshot: \(reason)"
        }
    }
}

/// zlib's CRC-32 of `bytes`.
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
        var crc: uLong = CZlib.crc32(0, nil, 0)
        var start = 0
        while start < buffer.count {
            let length = min(buffer.count - start, 1 << 30)
            crc = CZlib.crc32(crc, buffer.baseAddress! + start, uInt(length))
            start += length
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}
