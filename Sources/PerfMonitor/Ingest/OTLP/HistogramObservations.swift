#if canImport(Glibc)
import Glibc
#endif

/// The values an OTLP histogram point stands for, one per non-empty bucket with the bucket's
/// count as its weight, for the sketch. An exponential bucket is taken at its geometric middle
/// (as exact as the client's scale: ±2.2 % at the Python SDK's default of 160 buckets over three
/// decades); an explicit bucket at the geometric middle of its bounds (the arithmetic one when
/// its lower bound is ≤ 0), its open ends at the point's min and max; both clamped to min and max.
/// So explicit-bucket percentiles are only as fine as the client's buckets (api.md §6.2).
enum HistogramObservations {
    struct Observation: Equatable {
        var value: Double
        var count: Double
    }

    /// Why a point's buckets cannot be read.
    struct Invalid: Error {
        let message: String
    }

    static func of(_ point: OTLP.HistogramPoint) throws(Invalid) -> [Observation] {
        let bounds = point.explicitBounds, counts = point.bucketCounts
        guard point.sum.map(\.isFinite) ?? true, point.min.map(\.isFinite) ?? true, point.max.map(\.isFinite) ?? true else {
            throw Invalid(message: "sum, min and max must be finite")
        }
        if counts.isEmpty {  // count and sum alone: the mean stands for every value
            guard point.count > 0 else { return [] }
            guard let sum = point.sum else { throw Invalid(message: "a point with a count but neither buckets nor a sum") }
            return [Observation(value: sum / Double(point.count), count: Double(point.count))]
        }
        guard counts.count == bounds.count + 1 else {
            throw Invalid(message: "\(counts.count) bucketCounts for \(bounds.count) explicitBounds (there must be one more count than bounds)")
        }
        guard bounds.allSatisfy(\.isFinite), zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw Invalid(message: "explicitBounds must be finite and strictly increasing")
        }
        let total = counts.reduce(0, &+)
        guard total == point.count else { throw Invalid(message: "count \(point.count) is not the sum of bucketCounts (\(total))") }
        var observations: [Observation] = []
        for (position, count) in counts.enumerated() where count > 0 {
            let lower = position > 0 ? bounds[position - 1] : point.min ?? bounds[0]
            let upper = position < bounds.count ? bounds[position] : point.max ?? bounds[bounds.count - 1]
            let middle = lower > 0 && upper > 0 ? (lower * upper).squareRoot() : (lower + upper) / 2
            observations.append(Observation(value: clamp(middle, point.min, point.max), count: Double(count)))
        }
        return observations
    }

    static func of(_ point: OTLP.ExponentialPoint) throws(Invalid) -> [Observation] {
        guard (-10...20).contains(point.scale) else { throw Invalid(message: "scale \(point.scale) is outside OTLP's -10…20") }
        guard point.sum.map(\.isFinite) ?? true, point.min.map(\.isFinite) ?? true, point.max.map(\.isFinite) ?? true else {
            throw Invalid(message: "sum, min and max must be finite")
        }
        let total = point.positive.counts.reduce(0, &+) &+ point.negative.counts.reduce(0, &+) &+ point.zeroCount
        guard total == point.count else { throw Invalid(message: "count \(point.count) is not the sum of the buckets and zeroCount (\(total))") }
        // Bucket i holds (base^i, base^(i+1)], base = 2^(2^-scale): its geometric middle is 2^((i + ½)·2^-scale).
        let width = exp2(-Double(point.scale))
        var observations: [Observation] = []
        func add(_ buckets: OTLP.ExponentialPoint.Buckets, sign: Double) {
            for (position, count) in buckets.counts.enumerated() where count > 0 {
                let index = Double(Int(buckets.offset) + position)
                let middle = sign * exp2((index + 0.5) * width)
                observations.append(Observation(value: clamp(middle, point.min, point.max), count: Double(count)))
            }
        }
        add(point.negative, sign: -1)
        if point.zeroCount > 0 { observations.append(Observation(value: clamp(0, point.min, point.max), count: Double(point.zeroCount))) }
        add(point.positive, sign: 1)
        return observations
    }

    private static func clamp(_ value: Double, _ minimum: Double?, _ maximum: Double?) -> Double {
        var value = value
        if let minimum, value < minimum { value = minimum }
        if let maximum, value > maximum { value = maximum }
        return value
    }
}
