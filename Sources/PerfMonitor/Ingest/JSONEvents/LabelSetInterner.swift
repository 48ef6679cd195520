import Synchronization

/// Label sets already read, by their JSON text. A series' events repeat the same `labels` object
/// byte for byte, and reading one afresh (its names checked, sorted, the store key built) cost
/// as much as the rest of the event; text seen before and accepted is the same label set.
/// Bounded: at `capacity` sets it starts over, so a flood of distinct label sets costs a lookup
/// each and at most `capacity` sets of memory.
final class LabelSetInterner: Sendable {
    static let capacity = 2048
    private let known = Mutex<[JSONText: MetricLabels]>([:])

    init() {}

    func labels(for text: JSONText) -> MetricLabels? {
        known.withLock { $0[text] }
    }

    func remember(_ labels: MetricLabels, for text: JSONText) {
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll(keepingCapacity: true) }
            known[text] = labels
        }
    }

    /// Label sets held now (for tests).
    var count: Int { known.withLock(\.count) }
}

/// A JSON value's text, hashed as one run of bytes (an array of bytes hashes them one by one).
struct JSONText: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ text: UnsafeBufferPointer<UInt8>) { bytes = Array(text) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
