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
        func write(spans spanField: UInt64, deltas: UInt64, counts countField: UInt64, integral: Bool, into writer: inout ProtobufWriter) {
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

    /// Where a message puts each part of a native histogram: the exposition's `Histogram`
    /// (io.prometheus.client) and remote write's (prometheus.Histogram) number them differently.
    public struct Fields: Sendable {
        let count, countFloat, sum, schema, zeroThreshold, zeroCount, zeroCountFloat: UInt64
        let negative, positive: (spans: UInt64, deltas: UInt64, counts: UInt64)

        public static let exposition = Fields(count: 1, countFloat: 4, sum: 2, schema: 5, zeroThreshold: 6, zeroCount: 7, zeroCountFloat: 8,
                                              negative: (9, 10, 11), positive: (12, 13, 14))
        public static let remoteWrite = Fields(count: 1, countFloat: 2, sum: 3, schema: 4, zeroThreshold: 5, zeroCount: 6, zeroCountFloat: 7,
                                               negative: (8, 9, 10), positive: (11, 12, 13))
    }

    public let positive: Side
    public let negative: Side
    let count, sum, zeroCount, scale: Double

    public init(_ distribution: Distribution, scale: Double) {
        positive = Side(distribution.positive, scale: scale)
        negative = Side(distribution.negative, scale: scale)
        count = distribution.count
        sum = distribution.sum
        zeroCount = distribution.zeroCount
        self.scale = scale
    }

    /// Whether every count is a whole number (else a float histogram: weighted values).
    public var isIntegral: Bool {
        count == count.rounded() && zeroCount == zeroCount.rounded()
            && positive.counts.allSatisfy { $0 == $0.rounded() } && negative.counts.allSatisfy { $0 == $0.rounded() }
    }

    /// The native part of a histogram message: count, sum (in the family's unit), schema, zero
    /// bucket and both signs' buckets; integer counts as deltas when `integral`, else floats.
    public func write(_ fields: Fields, integral: Bool, into writer: inout ProtobufWriter) {
        if integral {
            writer.uint(fields.count, UInt64(count))
            writer.uint(fields.zeroCount, UInt64(zeroCount))
        } else {
            // Not below the buckets' own sum (added in another order, it can differ in its last
            // bit): Prometheus refuses a whole scrape whose float histogram counts less.
            writer.double(fields.countFloat, Swift.max(count, zeroCount + positive.counts.reduce(0, +) + negative.counts.reduce(0, +)))
            writer.double(fields.zeroCountFloat, zeroCount)
        }
        writer.double(fields.sum, sum / scale)
        writer.sint(fields.schema, Int64(Distribution.schema))
        writer.double(fields.zeroThreshold, Distribution.smallestMagnitude / scale)
        negative.write(spans: fields.negative.spans, deltas: fields.negative.deltas, counts: fields.negative.counts, integral: integral, into: &writer)
        positive.write(spans: fields.positive.spans, deltas: fields.positive.deltas, counts: fields.positive.counts, integral: integral, into: &writer)
    }
}
