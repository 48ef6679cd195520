/// A distribution's buckets as a Prometheus native histogram of schema 6 holds them: spans of
/// consecutive bucket indices and a count per bucket, positive and negative values apart. For a
/// family shown in seconds from milliseconds (`scale` 1000) the indices are the sketch's own; for
/// another scale each bucket goes whole to the native bucket holding its middle (a custom histogram
/// without a time unit: within one bucket, 1.09 %). Used by the protobuf exposition and remote write.
public struct NativeBuckets: Sendable {
    /// One sign's buckets: `spans` of (gap before it, length), and the counts in index order.
    public struct Side: Sendable {
        public internal(set) var spans: [(offset: Int32, length: UInt32)] = []
        public internal(set) var counts: [Double] = []

        init(_ buckets: SparseBuckets, scale: Double) {
            var previous: Int32?
            for (stored, count) in zip(buckets.indices, buckets.counts) {
                let index = scale == Distribution.unit ? stored : Distribution.index(of: Distribution.estimate(stored) * Distribution.unit / scale)
                if let last = previous, index == last {
                    counts[counts.count - 1] += count  // two stored buckets in one native bucket
                    continue
                }
                if let last = previous, index == last + 1 {
                    spans[spans.count - 1].length += 1
                } else {
                    spans.append((offset: previous.map { index - $0 - 1 } ?? index, length: 1))
                }
                counts.append(count)
                previous = index
            }
        }

        /// The fields of one sign: spans as `BucketSpan { sint32 offset = 1; uint32 length = 2; }`,
        /// then the counts, as deltas from the previous bucket (`integral`) or absolute.
        public func write(spans spanField: UInt64, deltas: UInt64, counts countField: UInt64, integral: Bool, into writer: inout ProtobufWriter) {
            for span in spans {
                writer.message(spanField) { message in
                    message.sint(1, Int64(span.offset))
                    message.uint(2, UInt64(span.length))
                }
            }
            guard !counts.isEmpty else { return }
            if integral {
                writer.message(deltas) { packed in
                    var previous: Int64 = 0
                    for count in counts {
                        packed.varint(ProtobufWriter.zigzag(Int64(count) - previous))
                        previous = Int64(count)
                    }
                }
            } else {
                writer.packedDoubles(countField, counts)
            }
        }
    }

    public let positive: Side
    public let negative: Side

    public init(_ distribution: Distribution, scale: Double) {
        positive = Side(distribution.positive, scale: scale)
        negative = Side(distribution.negative, scale: scale)
    }

    /// The weight of every bucket and of the zero bucket, added in bucket order: a float
    /// histogram's count must not be below it (Prometheus refuses the whole scrape otherwise),
    /// and the distribution's running count, added in arrival order, can differ in its last bit.
    public func observations(zeroCount: Double) -> Double {
        zeroCount + positive.counts.reduce(0, +) + negative.counts.reduce(0, +)
    }

    /// Whether every count is a whole number (else a float histogram: weighted values).
    public var isIntegral: Bool {
        positive.counts.allSatisfy { $0 == $0.rounded() } && negative.counts.allSatisfy { $0 == $0.rounded() }
    }
}
