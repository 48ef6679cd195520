import PerfMonitor

/// Snappy's block format (what remote write's `Content-Encoding: snappy` means), compressing
/// only: the uncompressed length, then literals and back-references of at most 64 KiB, found
/// with a hash table of 4-byte sequences as the reference encoder does. Written by hand (about 80
/// lines) rather than linking libsnappy: one more Debian package on every build for a function
/// called once per push.
enum SnappyBlock {
    static let blockSize = 1 << 16
    static let tableBits = 14

    static func compress(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 3 + 64)
        var preamble = ProtobufWriter()  // the uncompressed length, a varint as protobuf writes it
        preamble.varint(UInt64(input.count))
        output += preamble.bytes
        var table = [Int32](repeating: -1, count: 1 << tableBits)
        input.withUnsafeBufferPointer { source in
            var start = 0
            while start < source.count {
                let end = Swift.min(start + blockSize, source.count)
                compressBlock(source, start..<end, &table, &output)
                start = end
            }
        }
        return output
    }

    /// One block: offsets never reach back past its start, so two bytes always hold them.
    private static func compressBlock(_ source: UnsafeBufferPointer<UInt8>, _ block: Range<Int>, _ table: inout [Int32], _ output: inout [UInt8]) {
        var literalStart = block.lowerBound, position = block.lowerBound
        while position + 4 <= block.upperBound {
            let word = load32(source, position)
            let slot = Int((word &* 0x1E35_A7BD) >> (32 - UInt32(tableBits)))
            let candidate = Int(table[slot])
            table[slot] = Int32(position)
            guard candidate >= block.lowerBound, load32(source, candidate) == word else {
                position += 1
                continue
            }
            literal(source, literalStart..<position, &output)
            var length = 4
            while position + length < block.upperBound, source[candidate + length] == source[position + length] { length += 1 }
            copy(offset: position - candidate, length: length, &output)
            position += length
            literalStart = position
        }
        literal(source, literalStart..<block.upperBound, &output)
    }

    private static func load32(_ source: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        UInt32(source[at]) | UInt32(source[at + 1]) << 8 | UInt32(source[at + 2]) << 16 | UInt32(source[at + 3]) << 24
    }

    /// Tag 00: the length less one in the tag's upper six bits, or in 1–4 bytes after it (60–63).
    private static func literal(_ source: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ output: inout [UInt8]) {
        guard !range.isEmpty else { return }
        let lengthLessOne = range.count - 1
        if lengthLessOne < 60 {
            output.append(UInt8(lengthLessOne << 2))
        } else {
            let bytes = lengthLessOne < 1 << 8 ? 1 : lengthLessOne < 1 << 16 ? 2 : lengthLessOne < 1 << 24 ? 3 : 4
            output.append(UInt8((59 + bytes) << 2))
            for index in 0..<bytes { output.append(UInt8(truncatingIfNeeded: lengthLessOne >> (8 * index))) }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: source[range]))
    }

    /// Tag 01 (4–11 bytes, offset < 2048) or tag 10 (1–64 bytes, two-byte offset); longer matches
    /// as several copies, never one shorter than 4.
    private static func copy(offset: Int, length: Int, _ output: inout [UInt8]) {
        var length = length
        while length >= 68 {
            copyTwoByteOffset(offset, 64, &output)
            length -= 64
        }
        if length > 64 {
            copyTwoByteOffset(offset, 60, &output)
            length -= 60
        }
        if length < 12, offset < 2048 {
            output.append(UInt8((offset >> 8) << 5 | (length - 4) << 2 | 1))
            output.append(UInt8(truncatingIfNeeded: offset))
        } else {
            copyTwoByteOffset(offset, length, &output)
        }
    }

    private static func copyTwoByteOffset(_ offset: Int, _ length: Int, _ output: inout [UInt8]) {
        output.append(UInt8((length - 1) << 2 | 2))
        output.append(UInt8(truncatingIfNeeded: offset))
        output.append(UInt8(truncatingIfNeeded: offset >> 8))
    }
}
