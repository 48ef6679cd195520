#if canImport(Glibc)
import Glibc
#endif

/// What the StatsD reader learned of each line shape it met — the name and everything after the
/// values (`|type|@rate|#tags`), i.e. a line without its values — so that the next line of that
/// shape is read by its values alone: no tag parsing, label sorting, mapping or name check again.
/// An open-addressing table keyed by the bytes themselves, looked up without an allocation.
/// Bounded: once full it takes nothing more until `removeAll`.
struct LineShapes<Resolution: Sendable>: Sendable {
    static var capacity: Int { 16_384 }

    private var keys: [[UInt8]] = []
    private var hashes: [UInt64] = []
    private(set) var resolutions: [Resolution] = []
    /// Positions in `keys`, -1 where empty; twice the capacity, a power of two.
    private var table = [Int32](repeating: -1, count: 2 * 16_384)

    var isFull: Bool { keys.count >= Self.capacity }

    /// The resolution of the shape `name` + `rest`, if known.
    func find(name: StatsDLine.Bytes, rest: StatsDLine.Bytes, hash: UInt64) -> Resolution? {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let position = Int(table[slot])
            if position < 0 { return nil }
            if hashes[position] == hash, Self.equal(keys[position], name, rest) { return resolutions[position] }
            slot = (slot + 1) & mask
        }
    }

    /// Remembers a shape (not already known); false when full.
    @discardableResult
    mutating func insert(name: StatsDLine.Bytes, rest: StatsDLine.Bytes, hash: UInt64, _ resolution: Resolution) -> Bool {
        guard !isFull else { return false }
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot] >= 0 { slot = (slot + 1) & mask }
        table[slot] = Int32(keys.count)
        keys.append(Array(name) + [0xFF] + Array(rest))  // 0xFF never occurs in UTF-8
        hashes.append(hash)
        resolutions.append(resolution)
        return true
    }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        resolutions.removeAll(keepingCapacity: true)
        for index in table.indices { table[index] = -1 }
    }

    /// The name, a separator, then the rest, eight bytes at a time (FNV-1a's multiply, per word).
    static func hash(name: StatsDLine.Bytes, rest: StatsDLine.Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        hash = mix(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: name)), into: hash)
        hash = (hash ^ 0xFF) &* 0x0000_0100_0000_01b3
        hash = mix(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: rest)), into: hash)
        return hash ^ (hash >> 29)
    }

    private static func mix(_ bytes: UnsafeRawBufferPointer, into start: UInt64) -> UInt64 {
        var hash = start, offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            hash ^= hash >> 32
            offset += 8
        }
        while offset < bytes.count {
            hash = (hash ^ UInt64(bytes[offset])) &* 0x0000_0100_0000_01b3
            offset += 1
        }
        return hash
    }

    private static func equal(_ key: [UInt8], _ name: StatsDLine.Bytes, _ rest: StatsDLine.Bytes) -> Bool {
        guard key.count == name.count + 1 + rest.count else { return false }
        return key.withUnsafeBufferPointer { stored in
            memcmp(stored.baseAddress!, UnsafeBufferPointer(rebasing: name).baseAddress!, name.count) == 0
                && memcmp(stored.baseAddress! + name.count + 1, UnsafeBufferPointer(rebasing: rest).baseAddress!, rest.count) == 0
        }
    }
}
