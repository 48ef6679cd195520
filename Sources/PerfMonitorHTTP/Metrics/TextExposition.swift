import PerfMonitor

/// Writes the Prometheus text exposition format 0.0.4 or OpenMetrics 1.0 straight into bytes.
/// A scrape can hold hundreds of thousands of samples, so nothing is built per sample: the
/// family's sample name is rendered once, each series' labels once (`SeriesLabels`), the `le`
/// texts once per histogram family, and integer values are written digit by digit.
struct TextExposition: MetricsExposition {
    enum Format {
        case prometheus, openMetrics
    }

    let format: Format
    let prefix: String
    private(set) var bytes: [UInt8] = []
    /// The current family's sample name (prefix included; counters keep `_total`).
    private var name: [UInt8] = []
    private var bucketName: [UInt8] = [], sumName: [UInt8] = [], countName: [UInt8] = []
    /// The `le="…"` label of each bucket, `+Inf` last: all in one array, each at its range.
    private var boundLabels: [UInt8] = []
    private var boundRanges: [Range<Int>] = []
    /// The current family, and a buffer its histograms reuse.
    private var family = ExposedFamily.none
    private var counts: [Double] = []

    init(format: Format, prefix: String, capacity: Int = 1 << 16) {
        self.format = format
        self.prefix = prefix
        bytes.reserveCapacity(capacity)
    }

    /// Counters end in `_total`: the OpenMetrics family name drops it, as that format requires.
    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, bounds: [Double], scale: Double, prefixed: Bool) {
        family = ExposedFamily(name, type, bounds: bounds, scale: scale, prefix: prefix, prefixed: prefixed)
        let sampleName = family.name
        var familyName = sampleName
        if format == .openMetrics, type == .counter, familyName.hasSuffix("_total") { familyName.removeLast(6) }
        append("# HELP "); append(familyName); append(" "); appendEscaped(help, quotes: false); append("\n")
        append("# TYPE "); append(familyName); append(" "); append(type.rawValue); append("\n")
        self.name = Array(sampleName.utf8)
        bucketName = self.name + Array("_bucket".utf8)
        sumName = self.name + Array("_sum".utf8)
        countName = self.name + Array("_count".utf8)
        boundLabels = []
        boundRanges = []
        for bound in bounds.map(Self.leText) + ["+Inf"] {
            let start = boundLabels.count
            boundLabels.append(contentsOf: "le=\"\(bound)\"".utf8)
            boundRanges.append(start..<boundLabels.count)
        }
    }

    /// A bound as the `le` label's value: a float in both formats (OpenMetrics wants `1.0`).
    static func leText(_ bound: Double) -> String {
        bound == bound.rounded() && bound < 1e15 ? String(Int64(bound)) + ".0" : String(bound)
    }

    /// One sample of the current family: `name{labels,extra} value`.
    mutating func sample(_ labels: SeriesLabels, _ value: Double, extra: StaticString?) {
        let name = self.name
        name.withUnsafeBufferPointer { name in
            labels.bytes.withUnsafeBufferPointer { labels in
                write(name, labels, extra.map { UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount) }, value)
            }
        }
    }

    /// One sample with a label computed per sample (an error type, a status code).
    mutating func sample(_ labels: SeriesLabels, _ value: Double, label: String, _ labelValue: String) {
        var extra = Array(label.utf8) + [UInt8(ascii: "="), UInt8(ascii: "\"")]
        SeriesLabels.escape(labelValue, into: &extra)
        extra.append(UInt8(ascii: "\""))
        let name = self.name
        name.withUnsafeBufferPointer { name in
            labels.bytes.withUnsafeBufferPointer { labels in
                extra.withUnsafeBufferPointer { write(name, labels, $0, value) }
            }
        }
    }

    /// A histogram of the current family (declared with its `bounds`): cumulative buckets with `le`
    /// in seconds, `_sum` in seconds and `_count`, from the classic counts (else folded from the
    /// sketch). The names and labels are read through pointers taken once per histogram: passing
    /// the arrays to every sample retained each of them per line, a fifth of a large scrape.
    mutating func histogram(_ labels: SeriesLabels, _ distribution: Distribution, classic: ClassicCounts) {
        classicCumulativeCounts(distribution, classic, family.scaledBounds, into: &counts)
        let counts = self.counts, ranges = boundRanges, scale = family.scale
        let bucketName = self.bucketName, sumName = self.sumName, countName = self.countName, boundLabels = self.boundLabels
        labels.bytes.withUnsafeBufferPointer { labels in
            bucketName.withUnsafeBufferPointer { name in
                boundLabels.withUnsafeBufferPointer { bounds in
                    for index in counts.indices {
                        write(name, labels, UnsafeBufferPointer(rebasing: bounds[ranges[index]]), counts[index])
                    }
                }
            }
            sumName.withUnsafeBufferPointer { write($0, labels, nil, distribution.sum / scale) }
            countName.withUnsafeBufferPointer { write($0, labels, nil, distribution.count) }
        }
    }

    mutating func finish() {
        if format == .openMetrics { append("# EOF\n") }
    }

    private mutating func write(_ sampleName: UnsafeBufferPointer<UInt8>, _ labels: UnsafeBufferPointer<UInt8>,
                                _ extra: UnsafeBufferPointer<UInt8>?, _ value: Double) {
        bytes.append(contentsOf: sampleName)
        if !labels.isEmpty || extra != nil {
            bytes.append(UInt8(ascii: "{"))
            bytes.append(contentsOf: labels)
            if let extra {
                if !labels.isEmpty { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: extra)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        appendNumber(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func appendNumber(_ value: Double) {
        if value.isNaN { append("NaN"); return }
        if value.isInfinite { append(value > 0 ? "+Inf" : "-Inf"); return }
        guard value == value.rounded(), abs(value) < 1e15 else {
            append(String(value))
            return
        }
        var integer = Int64(value)
        if integer < 0 {
            bytes.append(UInt8(ascii: "-"))
            integer = -integer
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(integer % 10)
                integer /= 10
                count += 1
            } while integer > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// HELP text escapes backslash and line feed.
    private mutating func appendEscaped(_ text: String, quotes: Bool) {
        SeriesLabels.escape(text, into: &bytes, quotes: quotes)
    }
}
