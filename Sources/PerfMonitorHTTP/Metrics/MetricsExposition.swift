import PerfMonitor

/// The kinds of family `/metrics` writes.
enum MetricFamilyType: String {
    case counter, gauge, histogram
}

/// The family being written, as every exposition needs it: its sample name (the prefix put before
/// a built-in family's name; `process_*` keep theirs), its type, and a histogram's bounds in the
/// family's unit and in the distribution's (`scale` of them per unit: 1000 for milliseconds shown
/// in seconds, multiplied as the store multiplies them, so both sides hold the same doubles).
struct ExposedFamily {
    let name: String
    let type: MetricFamilyType
    let bounds: [Double]
    let scaledBounds: [Double]
    let scale: Double

    init(_ name: String, _ type: MetricFamilyType, bounds: [Double], scale: Double, prefix: String, prefixed: Bool) {
        self.name = !prefixed || name.hasPrefix("process_") ? name : prefix + "_" + name
        self.type = type
        self.bounds = bounds
        scaledBounds = bounds.map { $0 * scale }
        self.scale = scale
    }

    /// Before the first family.
    static let none = ExposedFamily("", .counter, bounds: [], scale: 1000, prefix: "", prefixed: false)
}

/// What `/metrics` writes a scrape through, whatever the format: text 0.0.4, OpenMetrics 1.0
/// (`TextExposition`) or the protobuf exposition with native histograms (`ProtobufExposition`).
/// The route says each family and sample once; each format renders them its own way.
protocol MetricsExposition {
    /// Starts a family; the samples written next belong to it. `name` is without the prefix and
    /// counters end in `_total`. A histogram's `bounds` are in its unit; its distribution holds
    /// `scale` of them per unit (1000: milliseconds in a family of seconds). `prefixed: false`
    /// for custom families.
    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, bounds: [Double], scale: Double, prefixed: Bool)
    /// One sample of the current family, with a fixed extra label (`outcome="success"`) or none.
    mutating func sample(_ labels: SeriesLabels, _ value: Double, extra: StaticString?)
    /// One sample with a label computed per sample (an error type, a status code).
    mutating func sample(_ labels: SeriesLabels, _ value: Double, label: String, _ labelValue: String)
    /// One series of the current histogram family: `classic` counted per bound (when empty, the
    /// classic buckets are folded from the sketch).
    mutating func histogram(_ labels: SeriesLabels, _ distribution: Distribution, classic: ClassicCounts)
    mutating func finish()
    var bytes: [UInt8] { get }
}

extension MetricsExposition {
    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, bounds: [Double] = [], scale: Double = 1000) {
        family(name, type, help, bounds: bounds, scale: scale, prefixed: true)
    }

    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, prefixed: Bool) {
        family(name, type, help, bounds: [], scale: 1000, prefixed: prefixed)
    }

    mutating func sample(_ labels: SeriesLabels, _ value: Double) {
        sample(labels, value, extra: nil)
    }

    /// The weight at or below each of `bounds`, then the total: the classic counts when they were
    /// counted against these bounds, else folded from the sketch.
    func classicCumulativeCounts(_ distribution: Distribution, _ classic: ClassicCounts, _ bounds: [Double], into counts: inout [Double]) {
        if classic.counts.count == bounds.count + 1 {
            classic.cumulative(into: &counts)
        } else {
            distribution.cumulativeCounts(atOrBelow: bounds, into: &counts)
            counts.append(distribution.count)
        }
    }
}

/// A fixed `name="value"` label of the route's own (`outcome="success"`, no escapes in it), split
/// in place: its name and value point into the static string, so nothing is built per sample.
struct FixedLabel {
    let name: UnsafeBufferPointer<UInt8>
    let value: UnsafeBufferPointer<UInt8>

    init?(_ extra: StaticString) {
        let text = UnsafeBufferPointer(start: extra.utf8Start, count: extra.utf8CodeUnitCount)
        guard let equals = text.firstIndex(of: UInt8(ascii: "=")), equals + 2 < text.count, text[equals + 1] == UInt8(ascii: "\""),
              text.last == UInt8(ascii: "\"") else { return nil }
        name = UnsafeBufferPointer(rebasing: text[..<equals])
        value = UnsafeBufferPointer(rebasing: text[(equals + 2)..<(text.count - 1)])
    }

    var pair: (String, String) { (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)) }
}

extension ProtobufWriter {
    /// A label in field `number` as both Prometheus protocols encode one (the exposition's
    /// `LabelPair`, remote write's `Label`: the name in field 1, the value in field 2).
    mutating func label(_ number: UInt64, _ name: String, _ value: String) {
        message(number) { pair in
            pair.string(1, name)
            pair.string(2, value)
        }
    }
}
