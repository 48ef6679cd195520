#if canImport(Glibc)
import Glibc
#endif

/// A set metric's distinct members over a span (api.md §6.3, §7): counted exactly up to
/// `exactLimit`, then estimated by a HyperLogLog sketch of 2^14 registers (16 KiB, a standard
/// error of 1.04 / √16384 ≈ 0.81 %), which merges across window buckets like the exact set does.
/// The estimate's hash is fixed (FNV-1a, then a 64-bit mix), not the process's seeded `Hasher`, so
/// a sketch read from a snapshot keeps counting the same members as the same.
public struct DistinctMembers: Sendable, Equatable {
    /// Members counted exactly, per series and window bucket, before the sketch takes over.
    public static let exactLimit = 10_000

    private enum Storage: Sendable, Equatable {
        case exact(Set<String>)
        case estimated(HyperLogLog)
    }

    private var storage = Storage.exact([])

    public init() {}

    /// How many distinct members (estimated once past `exactLimit`).
    public var count: Int {
        switch storage {
        case let .exact(members): members.count
        case let .estimated(sketch): sketch.estimate
        }
    }

    /// Whether `count` is an estimate (`distinct_estimated` in the JSON).
    public var isEstimated: Bool {
        if case .estimated = storage { return true }
        return false
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func insert(_ member: String) {
        switch storage {
        case var .exact(members):
            storage = .exact([])  // keeps `members` uniquely referenced while it grows
            members.insert(member)
            storage = members.count > Self.exactLimit ? .estimated(HyperLogLog(members)) : .exact(members)
        case var .estimated(sketch):
            storage = .exact([])
            sketch.insert(member)
            storage = .estimated(sketch)
        }
    }

    public mutating func merge(_ other: DistinctMembers) {
        switch (storage, other.storage) {
        case (_, .exact(let theirs)) where theirs.isEmpty:
            return
        case let (.exact(mine), .exact(theirs)):
            let union = mine.union(theirs)
            storage = union.count > Self.exactLimit ? .estimated(HyperLogLog(union)) : .exact(union)
        case let (.exact(mine), .estimated(theirs)):
            var sketch = theirs
            for member in mine { sketch.insert(member) }
            storage = .estimated(sketch)
        case (.estimated(var sketch), let .exact(theirs)):
            storage = .exact([])
            for member in theirs { sketch.insert(member) }
            storage = .estimated(sketch)
        case (.estimated(var sketch), let .estimated(theirs)):
            storage = .exact([])
            sketch.merge(theirs)
            storage = .estimated(sketch)
        }
    }

    /// Approximate heap bytes (for `/performance/memory`).
    var heapBytes: Int {
        switch storage {
        case let .exact(members): members.isEmpty ? 0 : 48 + members.reduce(members.capacity * 16) { $0 + $1.utf8.count }
        case .estimated: 32 + HyperLogLog.registerCount
        }
    }

    /// The members kept exactly, sorted (the snapshot's form); nil once estimated.
    var exactMembers: [String]? {
        if case let .exact(members) = storage { return members.sorted() }
        return nil
    }

    /// The sketch's registers, once estimated.
    var registers: [UInt8]? {
        if case let .estimated(sketch) = storage { return Array(sketch.registers) }
        return nil
    }

    /// As read from a snapshot.
    init(exact members: some Sequence<String>) {
        let set = Set(members)
        storage = set.count > Self.exactLimit ? .estimated(HyperLogLog(set)) : .exact(set)
    }

    /// As read from a snapshot; nil when the registers are not a sketch's.
    init?(registers: [UInt8]) {
        guard let sketch = HyperLogLog(registers: registers) else { return nil }
        storage = .estimated(sketch)
    }
}

/// The estimate behind `DistinctMembers`: one register per hash prefix of 14 bits holding the
/// longest run of leading zeros seen after it (Flajolet et al. 2007, with linear counting while
/// registers are still empty, as Heule et al. 2013 advise for small counts).
struct HyperLogLog: Sendable, Equatable {
    static let precision = 14
    static let registerCount = 1 << precision

    private(set) var registers: ContiguousArray<UInt8>

    init(_ members: some Sequence<String>) {
        registers = ContiguousArray(repeating: 0, count: Self.registerCount)
        for member in members { insert(member) }
    }

    init?(registers: [UInt8]) {
        guard registers.count == Self.registerCount, registers.allSatisfy({ $0 <= 64 - Self.precision + 1 }) else { return nil }
        self.registers = ContiguousArray(registers)
    }

    mutating func insert(_ member: String) {
        let hash = Self.hash(member)
        let index = Int(hash >> UInt64(64 - Self.precision))
        // The bits after the index, with a 1 past them so that the run of zeros is bounded.
        let rest = (hash << UInt64(Self.precision)) | (1 << UInt64(Self.precision - 1))
        let rank = UInt8(rest.leadingZeroBitCount + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    mutating func merge(_ other: HyperLogLog) {
        for index in registers.indices where other.registers[index] > registers[index] { registers[index] = other.registers[index] }
    }

    var estimate: Int {
        let m = Double(Self.registerCount)
        var harmonic = 0.0, empty = 0
        for register in registers {
            harmonic += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { empty += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        let raw = alpha * m * m / harmonic
        if raw <= 2.5 * m, empty > 0 { return Int((m * log(m / Double(empty))).rounded()) }
        return Int(raw.rounded())
    }

    /// FNV-1a over the UTF-8 bytes, then splitmix64's finaliser to spread them over all 64 bits.
    static func hash(_ member: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in member.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
