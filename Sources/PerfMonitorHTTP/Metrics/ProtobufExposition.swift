import PerfMonitor

/// Writes the Prometheus protobuf exposition (`application/vnd.google.protobuf;
/// proto=io.prometheus.client.MetricFamily; encoding=delimited`): length-delimited
/// `MetricFamily` messages, every histogram both a native histogram — the sketch's own buckets,
/// schema 6, so that Prometheus sums them across instances without loss — and its classic `le`
/// buckets beside it. Written by hand with `ProtobufWriter` (see docs/architecture.md: generated
/// code would cost its runtime's build time for five small messages).
struct ProtobufExposition: MetricsExposition {
    static let contentType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

    let prefix: String
    private var writer: ProtobufWriter
    /// Where the open family starts (its length goes there) and how many metrics it has so far.
    private var familyStart: Int?
    private var metricCount = 0
    private var family = ExposedFamily.none
    private var counts: [Double] = []

    init(prefix: String, capacity: Int = 1 << 16) {
        self.prefix = prefix
        writer = ProtobufWriter(capacity: capacity)
    }

    var bytes: [UInt8] { writer.bytes }

    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, bounds: [Double], scale: Double, prefixed: Bool) {
        closeFamily()
        family = ExposedFamily(name, type, bounds: bounds, scale: scale, prefix: prefix, prefixed: prefixed)
        familyStart = writer.bytes.count
        metricCount = 0
        writer.string(1, family.name)
        writer.string(2, help)
        writer.uint(3, Self.typeNumber(type))
    }

    mutating func sample(_ labels: SeriesLabels, _ value: Double, extra: StaticString?) {
        let fixed = extra.flatMap(FixedLabel.init)
        metric(labels, value) { metric in
            guard let fixed else { return }
            metric.message(1) { pair in
                pair.bytes(1, fixed.name)
                pair.bytes(2, fixed.value)
            }
        }
    }

    mutating func sample(_ labels: SeriesLabels, _ value: Double, label: String, _ labelValue: String) {
        metric(labels, value) { $0.label(1, label, labelValue) }
    }

    /// A counter's or gauge's metric: the series' labels, those `extra` adds, the value.
    private mutating func metric(_ labels: SeriesLabels, _ value: Double, extra: (inout ProtobufWriter) -> Void) {
        metricCount += 1
        let type = family.type
        writer.message(4) { metric in
            Self.writeLabels(labels, &metric)
            extra(&metric)
            // Metric.gauge = 2, Metric.counter = 3; each holds its value in field 1.
            metric.message(type == .gauge ? 2 : 3) { $0.double(1, value) }
        }
    }

    mutating func histogram(_ labels: SeriesLabels, _ distribution: Distribution, classic: ClassicCounts) {
        metricCount += 1
        classicCumulativeCounts(distribution, classic, family.scaledBounds, into: &counts)
        let native = NativeBuckets(distribution, scale: family.scale)
        let integral = native.isIntegral && counts.allSatisfy { $0 == $0.rounded() }
        let counts = self.counts, bounds = family.bounds
        writer.message(4) { metric in
            Self.writeLabels(labels, &metric)
            metric.message(7) { histogram in
                native.write(.exposition, integral: integral, into: &histogram)
                for (index, bound) in bounds.enumerated() {
                    histogram.message(3) { bucket in
                        if integral { bucket.uint(1, UInt64(counts[index])) } else { bucket.double(4, counts[index]) }
                        bucket.double(2, bound)
                    }
                }
            }
        }
    }

    mutating func finish() {
        closeFamily()
    }

    /// Ends the open family: its length in front, or nothing at all when it has no metric
    /// (a family without metrics is not valid in this format).
    private mutating func closeFamily() {
        guard let start = familyStart else { return }
        familyStart = nil
        if metricCount == 0 { writer.truncate(to: start) } else { writer.insertLength(at: start) }
    }

    private static func writeLabels(_ labels: SeriesLabels, _ metric: inout ProtobufWriter) {
        for (name, value) in labels.pairs { metric.label(1, name, value) }
    }

    /// `io.prometheus.client.MetricType`.
    private static func typeNumber(_ type: MetricFamilyType) -> UInt64 {
        switch type {
        case .counter: 0
        case .gauge: 1
        case .histogram: 4
        }
    }
}
