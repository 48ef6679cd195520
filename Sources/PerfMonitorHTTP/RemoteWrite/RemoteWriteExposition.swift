import PerfMonitor

/// Writes what a scrape shows as remote write 1.0 `WriteRequest`s (prompb): one `TimeSeries` a
/// sample, its labels sorted by name with `__name__`, `job` and `instance`; every histogram as a
/// native histogram (the sketch's buckets, as the protobuf exposition sends them) and its classic
/// `_bucket`, `_sum` and `_count` series. A request is closed every `seriesPerRequest` series, so
/// that a large store goes as several bodies a receiver accepts and a retry resends little.
struct RemoteWriteExposition: MetricsExposition {
    /// One request's body (protobuf, before compression) and the samples it carries.
    struct Request {
        var body: [UInt8]
        var samples: Int
    }

    let prefix: String
    /// `job` and `instance`, sorted into every series' labels.
    let identity: [(String, String)]
    let timestampMs: Int64
    let seriesPerRequest: Int
    private(set) var requests: [Request] = []
    private var writer = ProtobufWriter()
    private var seriesInRequest = 0
    private var family = ExposedFamily.none
    private var counts: [Double] = []

    init(prefix: String, job: String, instance: String, timestampMs: Int64, seriesPerRequest: Int = 5_000) {
        self.prefix = prefix
        identity = [("instance", instance), ("job", job)]
        self.timestampMs = timestampMs
        self.seriesPerRequest = seriesPerRequest
    }

    /// The requests' bodies; call `finish()` first.
    var bytes: [UInt8] { requests.flatMap(\.body) }

    mutating func family(_ name: String, _ type: MetricFamilyType, _ help: String, bounds: [Double], scale: Double, prefixed: Bool) {
        family = ExposedFamily(name, type, bounds: bounds, scale: scale, prefix: prefix, prefixed: prefixed)
    }

    mutating func sample(_ labels: SeriesLabels, _ value: Double, extra: StaticString?) {
        var pairs = labels.pairs
        if let extra, let label = FixedLabel(extra) { pairs.append(label.pair) }
        floatSeries(family.name, pairs, value)
    }

    mutating func sample(_ labels: SeriesLabels, _ value: Double, label: String, _ labelValue: String) {
        floatSeries(family.name, labels.pairs + [(label, labelValue)], value)
    }

    mutating func histogram(_ labels: SeriesLabels, _ distribution: Distribution, classic: ClassicCounts) {
        classicCumulativeCounts(distribution, classic, family.scaledBounds, into: &counts)
        let native = NativeBuckets(distribution, scale: family.scale)
        let integral = native.isIntegral
        let name = family.name, timestampMs = self.timestampMs
        series(name, labels.pairs) { series in
            series.message(4) { histogram in
                native.write(.remoteWrite, integral: integral, into: &histogram)
                histogram.int(15, timestampMs)
            }
        }
        let counts = self.counts
        for (index, bound) in (family.bounds.map(TextExposition.leText) + ["+Inf"]).enumerated() {
            floatSeries(name + "_bucket", labels.pairs + [("le", bound)], counts[index])
        }
        floatSeries(name + "_sum", labels.pairs, distribution.sum / family.scale)
        floatSeries(name + "_count", labels.pairs, distribution.count)
    }

    mutating func finish() {
        closeRequest()
    }

    private mutating func floatSeries(_ name: String, _ pairs: [(String, String)], _ value: Double) {
        let timestampMs = self.timestampMs
        series(name, pairs) { series in
            series.message(2) { sample in
                sample.double(1, value)
                sample.int(2, timestampMs)
            }
        }
    }

    /// `WriteRequest.timeseries` (1): labels (1), then what `body` adds (samples 2 or histograms 4).
    private mutating func series(_ name: String, _ pairs: [(String, String)], _ body: (inout ProtobufWriter) -> Void) {
        var labels = [("__name__", name)] + identity
        // A series' own job or instance label is kept as exported_…, as Prometheus does on a scrape.
        for (key, value) in pairs { labels.append((key == "job" || key == "instance" ? "exported_" + key : key, value)) }
        labels.sort { $0.0 < $1.0 }
        writer.message(1) { series in
            for (key, value) in labels where !value.isEmpty { series.label(1, key, value) }
            body(&series)
        }
        seriesInRequest += 1
        if seriesInRequest >= seriesPerRequest { closeRequest() }
    }

    private mutating func closeRequest() {
        guard seriesInRequest > 0 else { return }
        requests.append(Request(body: writer.bytes, samples: seriesInRequest))
        writer = ProtobufWriter(capacity: writer.bytes.count)
        seriesInRequest = 0
    }
}
