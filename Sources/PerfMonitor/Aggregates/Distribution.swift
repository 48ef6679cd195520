#if canImport(Glibc)
import Glibc
#endif

/// A mergeable distribution of values with any quantile within 0.55 % relative error of the exact
/// nearest-rank value, plus exact count, sum, min and max. Its buckets are those of a Prometheus
/// native histogram of schema 6 (each 2^(1/64), 1.09 %, wide) over the value in thousands — a
/// duration in milliseconds is bucketed as the seconds `/metrics` shows it in — so the same value
/// lands in the same bucket on every instance, and the protobuf exposition and remote write send
/// the buckets as they are: summing them across instances is exact. Buckets are sparse: memory
/// grows with the number of distinct magnitudes seen, not with the number of values.
///
/// Written by hand rather than with hdrhistogram-swift: HDR histograms are dense (kilobytes even
/// for two values) and need a fixed range up front; perfmond keeps one per series per window bucket.
public struct Distribution: Sendable, Equatable {
    /// The native histogram schema of the buckets: bucket `i` holds (2^((i-1)/64), 2^(i/64)] of `unit`.
    public static let schema: Int32 = 6
    static let bucketsPerOctave = 64.0
    static let growth = pow(2, 1 / bucketsPerOctave)
    /// What the bucket bounds are powers of: a distribution of milliseconds has them on seconds.
    public static let unit = 1000.0
    /// Magnitudes below this count as zero (the native histogram's zero threshold is this over `unit`).
    public static let smallestMagnitude = 1e-9

    /// Buckets of positive values and, apart, of negative values by their magnitude.
    public internal(set) var positive = SparseBuckets()
    public internal(set) var negative = SparseBuckets()
    /// The weight of values whose magnitude is below `smallestMagnitude`.
    public internal(set) var zeroCount: Double = 0
    public internal(set) var count: Double = 0
    public internal(set) var sum: Double = 0
    /// Σ weight·value², for the variance (a significance test needs it).
    public internal(set) var sumOfSquares: Double = 0
    public internal(set) var min: Double = 0
    public internal(set) var max: Double = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }
    public var mean: Double { count > 0 ? sum / count : 0 }

    /// The sample variance (0 with fewer than two values).
    public var variance: Double {
        guard count > 1 else { return 0 }
        return Swift.max(0, (sumOfSquares - count * mean * mean) / (count - 1))
    }

    /// Adds `value` with `weight` (1 / sample rate).
    public mutating func record(_ value: Double, weight: Double = 1) {
        guard value.isFinite, weight > 0 else { return }
        if count == 0 {
            min = value
            max = value
        } else {
            min = Swift.min(min, value)
            max = Swift.max(max, value)
        }
        count += weight
        sum += value * weight
        sumOfSquares += value * value * weight
        let magnitude = abs(value)
        if magnitude < Self.smallestMagnitude {
            zeroCount += weight
        } else if value > 0 {
            positive.add(Self.index(of: magnitude), weight)
        } else {
            negative.add(Self.index(of: magnitude), weight)
        }
    }

    public mutating func merge(_ other: Distribution) {
        guard other.count > 0 else { return }
        if count == 0 {
            self = other
            return
        }
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        count += other.count
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        zeroCount += other.zeroCount
        positive.merge(other.positive)
        negative.merge(other.negative)
    }

    /// The nearest-rank `q`-quantile (0…1): the smallest value with at least `q × count` of the
    /// weight at or below it; 0 when empty.
    public func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        if q <= 0 { return min }
        if q >= 1 { return max }
        let rank = q * count * (1 - 1e-12)
        var cumulative = 0.0
        for position in stride(from: negative.indices.count - 1, through: 0, by: -1) {
            cumulative += negative.counts[position]
            if cumulative >= rank { return clamp(-Self.estimate(negative.indices[position])) }
        }
        cumulative += zeroCount
        if cumulative >= rank { return clamp(0) }
        for position in positive.indices.indices {
            cumulative += positive.counts[position]
            if cumulative >= rank { return clamp(Self.estimate(positive.indices[position])) }
        }
        return max
    }

    /// For each of the ascending `bounds`, the weight of values at or below it, folded from the
    /// fine buckets: a fine bucket counts where its estimate falls, so a value within one bucket
    /// (1.09 %) of a bound may land in the next one. Classic `le` buckets are counted exactly
    /// (`ClassicCounts`); this serves what has no exact counts (values that came in batches).
    public func cumulativeCounts(atOrBelow bounds: [Double]) -> [Double] {
        var result: [Double] = []
        cumulativeCounts(atOrBelow: bounds, into: &result)
        return result
    }

    /// The same into a buffer the caller reuses (a scrape folds thousands of distributions), and
    /// without building the list of values first: the buckets are walked in ascending order.
    public func cumulativeCounts(atOrBelow bounds: [Double], into result: inout [Double]) {
        result.removeAll(keepingCapacity: true)
        guard count > 0 else {
            result.append(contentsOf: repeatElement(0, count: bounds.count))
            return
        }
        var cumulative = 0.0, boundIndex = 0
        // Every value in ascending order: negatives (largest index first), zeros, positives.
        func add(_ estimate: Double, _ weight: Double) {
            while boundIndex < bounds.count, estimate > bounds[boundIndex] {
                result.append(cumulative)
                boundIndex += 1
            }
            cumulative += weight
        }
        for position in stride(from: negative.indices.count - 1, through: 0, by: -1) {
            add(clamp(-Self.estimate(negative.indices[position])), negative.counts[position])
        }
        if zeroCount > 0 { add(clamp(0), zeroCount) }
        for position in positive.indices.indices {
            add(clamp(Self.estimate(positive.indices[position])), positive.counts[position])
        }
        while boundIndex < bounds.count {
            result.append(cumulative)
            boundIndex += 1
        }
    }

    /// Bytes on the heap for the buckets (for memory accounting).
    public var heapBytes: Int { positive.heapBytes + negative.heapBytes }

    private func clamp(_ value: Double) -> Double { Swift.min(Swift.max(value, min), max) }

    /// The bucket holding `magnitude` (> 0): (2^((i-1)/64), 2^(i/64)] × `unit`.
    public static func index(of magnitude: Double) -> Int32 {
        Int32((log2(magnitude / unit) * bucketsPerOctave).rounded(.up))
    }

    /// The value in the middle of bucket `i`, in relative terms: within (growth − 1) / (growth + 1),
    /// 0.54 %, of all of it.
    static func estimate(_ index: Int32) -> Double {
        2 * upperBound(index) / (growth + 1)
    }

    /// The largest value bucket `i` holds.
    static func upperBound(_ index: Int32) -> Double {
        unit * exp2(Double(index) / bucketsPerOctave)
    }
}

/// Bucket indices in ascending order with their weights, in two parallel arrays.
public struct SparseBuckets: Sendable, Equatable {
    public internal(set) var indices: [Int32] = []
    public internal(set) var counts: [Double] = []

    mutating func add(_ index: Int32, _ weight: Double) {
        // Most values land in the last bucket touched or near the top: check the end first.
        if let last = indices.last {
            if last == index {
                counts[counts.count - 1] += weight
                return
            }
            if last < index {
                indices.append(index)
                counts.append(weight)
                return
            }
        }
        var low = 0, high = indices.count
        while low < high {
            let middle = (low + high) / 2
            if indices[middle] < index { low = middle + 1 } else { high = middle }
        }
        if low < indices.count, indices[low] == index {
            counts[low] += weight
        } else {
            indices.insert(index, at: low)
            counts.insert(weight, at: low)
        }
    }

    mutating func merge(_ other: SparseBuckets) {
        guard !other.indices.isEmpty else { return }
        guard !indices.isEmpty else {
            self = other
            return
        }
        var mergedIndices: [Int32] = [], mergedCounts: [Double] = []
        mergedIndices.reserveCapacity(indices.count + other.indices.count)
        mergedCounts.reserveCapacity(indices.count + other.indices.count)
        var a = 0, b = 0
        while a < indices.count || b < other.indices.count {
            if b == other.indices.count || (a < indices.count && indices[a] < other.indices[b]) {
                mergedIndices.append(indices[a]); mergedCounts.append(counts[a]); a += 1
            } else if a == indices.count || other.indices[b] < indices[a] {
                mergedIndices.append(other.indices[b]); mergedCounts.append(other.counts[b]); b += 1
            } else {
                mergedIndices.append(indices[a]); mergedCounts.append(counts[a] + other.counts[b]); a += 1; b += 1
            }
        }
        indices = mergedIndices
        counts = mergedCounts
    }

    var heapBytes: Int { indices.capacity * 4 + counts.capacity * 8 + (indices.capacity > 0 ? 64 : 0) }
}
