/// OTLP metrics as events (api.md §6.2): the GenAI conventions' metrics into provider × model
/// stats (unless the service's spans feed them), every other metric into a labelled custom
/// metric; cumulative points differenced per stream first. A point that cannot be read is
/// refused alone, with its reason; the rest of its request counts.
public struct OTLPMetricsMapping: Sendable {
    public let options: OTLPOptions
    public let streams: CumulativeStreams
    public let services: GenAISpanServices
    public let catalog: MetricCatalog?
    public let maxAgeSeconds: Double

    public init(options: OTLPOptions, streams: CumulativeStreams, services: GenAISpanServices, catalog: MetricCatalog?, maxAgeSeconds: Double) {
        self.options = options
        self.streams = streams
        self.services = services
        self.catalog = catalog
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// The GenAI metrics read into provider stats.
    enum GenAIMetric {
        case duration, tokens, timeToFirstToken

        init?(_ name: String) {
            switch name {
            case "gen_ai.client.operation.duration": self = .duration
            case "gen_ai.client.token.usage": self = .tokens
            case "gen_ai.server.time_to_first_token", "gen_ai.client.operation.time_to_first_chunk": self = .timeToFirstToken
            default: return nil
            }
        }
    }

    /// Maps the request; `commit` gets the result and says whether its events were kept (false:
    /// the queue was full, and the cumulative streams are left as they were for the retry).
    public func map(_ request: OTLP.MetricsRequest, now: Double, commit: (OTLPMapped) -> Bool) -> OTLPMapped {
        streams.withTable({ table in
            var mapped = OTLPMapped()
            mapped.refusals.add(request.refusals)
            mapped.points.count(.rejected, request.refusals.count)
            for resource in request.resources {
                let service = resource.resource.serviceName
                let genAIFromMetrics = switch options.genAISource {
                case .metrics: true
                case .spans: false
                case .auto: !services.hasSpans(service ?? "", since: now - maxAgeSeconds)
                }
                for scope in resource.scopes {
                    for metric in scope.metrics {
                        var context = MetricContext(metric: metric, service: service, now: now)
                        context.stream.add(resource.resource.identity)
                        context.stream.add(scope.scope)
                        context.stream.add(metric.name)
                        context.genAI = genAIFromMetrics ? GenAIMetric(metric.name) : nil
                        self.map(metric, context, &table, into: &mapped)
                    }
                }
            }
            return mapped
        }, commit: commit)
    }

    /// What every point of a metric shares.
    struct MetricContext {
        let metric: OTLP.Metric
        let service: String?
        let now: Double
        /// The stream identity so far: resource, scope, name (each point adds its attributes).
        var stream = StreamDigest()
        var genAI: GenAIMetric?

        init(metric: OTLP.Metric, service: String?, now: Double) {
            self.metric = metric
            self.service = service
            self.now = now
        }
    }

    /// A point refused, and why.
    struct Refusal: Error {
        let message: String
    }

    private func map(_ metric: OTLP.Metric, _ context: MetricContext, _ table: inout CumulativeStreams.Table, into mapped: inout OTLPMapped) {
        func each<Point>(_ points: [Point], _ header: (Point) -> OTLP.PointHeader, _ body: (Point, Double, UInt64) throws(Refusal) -> OTLPPointOutcome) {
            for point in points {
                let header = header(point)
                if header.noRecordedValue {
                    mapped.points.count(.noValue)
                    continue
                }
                do {
                    let time = try timestamp(header, now: context.now)
                    var stream = context.stream
                    for attribute in header.attributes {
                        stream.add(attribute.key)
                        stream.add(attribute.value.text)
                    }
                    mapped.points.count(try body(point, time, stream.value))
                } catch {
                    mapped.refusals.add("metric '\(metric.name)': \(error.message)")
                    mapped.points.count(.rejected)
                }
            }
        }
        switch metric.data {
        case .none:
            break
        case let .summary(points):
            mapped.refusals.add("metric '\(metric.name)': summary points are not read (their quantiles cannot be merged; send a histogram)", count: points)
            mapped.unsupported += points
            mapped.points.count(.unsupported, points)
        case let .gauge(points):
            each(points, \.header) { point, time, _ throws(Refusal) in
                try custom(context, point.header, .gauge(try value(point)), at: time, into: &mapped)
            }
        case let .sum(points, temporality, monotonic):
            each(points, \.header) { point, time, stream throws(Refusal) in
                let value = try value(point)
                switch (monotonic, temporality) {
                case (true, .cumulative):
                    guard value >= 0 else { throw Refusal(message: "a monotonic sum of \(value), below 0") }
                    guard case let .add(increment) = table.difference(stream, point.header, value: value, limits: streams, now: context.now) else {
                        return .unchanged
                    }
                    return try custom(context, point.header, .counter(increment: increment), at: time, into: &mapped)
                case (true, _):
                    guard value >= 0 else { throw Refusal(message: "a monotonic delta sum of \(value), below 0") }
                    return try custom(context, point.header, .counter(increment: value), at: time, into: &mapped)
                case (false, .cumulative): return try custom(context, point.header, .gauge(value), at: time, into: &mapped)
                case (false, _): return try custom(context, point.header, .gaugeDelta(value), at: time, into: &mapped)
                }
            }
        case let .histogram(points, temporality):
            each(points, \.header) { point, time, stream throws(Refusal) in
                var delta = point
                if temporality == .cumulative {
                    guard case let .add(change) = table.difference(stream, point, limits: streams, now: context.now) else { return .unchanged }
                    delta = change
                }
                return try histogram(context, point.header, try observations { () throws(HistogramObservations.Invalid) in try HistogramObservations.of(delta) },
                                     sum: delta.sum, clientBuckets: !delta.bucketCounts.isEmpty, at: time, into: &mapped)
            }
        case let .exponentialHistogram(points, temporality):
            each(points, \.header) { point, time, stream throws(Refusal) in
                var delta = point
                if temporality == .cumulative {
                    guard case let .add(change) = table.difference(stream, point, limits: streams, now: context.now) else { return .unchanged }
                    delta = change
                }
                return try histogram(context, point.header, try observations { () throws(HistogramObservations.Invalid) in try HistogramObservations.of(delta) },
                                     sum: delta.sum, clientBuckets: false, at: time, into: &mapped)
            }
        }
    }

    /// A point's buckets as values, or its refusal.
    private func observations(_ read: () throws(HistogramObservations.Invalid) -> [HistogramObservations.Observation]) throws(Refusal)
        -> [HistogramObservations.Observation] {
        do {
            return try read()
        } catch {
            throw Refusal(message: error.message)
        }
    }

    private func value(_ point: OTLP.NumberPoint) throws(Refusal) -> Double {
        guard let value = point.value else { throw Refusal(message: "a point with neither asDouble nor asInt") }
        guard value.isFinite else { throw Refusal(message: "a value of \(value)") }
        return value
    }

    /// The point's time in Unix seconds (its absence: now), within the retention and at most 5 minutes ahead.
    private func timestamp(_ header: OTLP.PointHeader, now: Double) throws(Refusal) -> Double {
        guard header.timeUnixNano != 0 else { return now }
        let time = Double(header.timeUnixNano) / 1e9
        guard time >= now - maxAgeSeconds, time <= now + 300 else {
            throw Refusal(message: "timeUnixNano \(header.timeUnixNano) is older than the retention or more than 5 minutes ahead")
        }
        return time
    }

    // MARK: Into the store

    /// A histogram point's values: into the provider stats for a GenAI metric, else a custom histogram.
    private func histogram(_ context: MetricContext, _ header: OTLP.PointHeader, _ observations: [HistogramObservations.Observation],
                           sum: Double?, clientBuckets: Bool, at time: Double, into mapped: inout OTLPMapped) throws(Refusal) -> OTLPPointOutcome {
        if let genAI = context.genAI, let events = providerEvents(genAI, context, header, observations, sum: sum, at: time) {
            mapped.events.append(contentsOf: events)
            return .providerStats
        }
        guard !observations.isEmpty else { return .unchanged }
        let milliseconds = TimeUnit(context.metric.unit)?.milliseconds ?? 1  // a time unit's values are kept in milliseconds
        var batch = MetricBatch(kind: .histogram)
        for observation in observations {
            batch.record(.histogram(observation.value * milliseconds), at: time, weight: observation.count)
        }
        let outcome = try custom(context, header, .batch(batch), at: time, into: &mapped)
        if clientBuckets { catalog?.noteClientBuckets(MetricNaming.metricName(context.metric.name)) }
        return outcome
    }

    /// The events of a GenAI point; nil for a point the provider stats cannot take (another token type), which becomes a custom metric.
    private func providerEvents(_ metric: GenAIMetric, _ context: MetricContext, _ header: OTLP.PointHeader,
                                _ observations: [HistogramObservations.Observation], sum: Double?, at time: Double) -> [Event]? {
        func attribute(_ key: String) -> String? {
            header.attributes.last { $0.key == key }.map(\.value.text).flatMap { $0.isEmpty ? nil : $0 }
        }
        let provider = attribute("gen_ai.provider.name") ?? attribute("gen_ai.system") ?? "unknown"
        let model = attribute("gen_ai.response.model") ?? attribute("gen_ai.request.model")
        let milliseconds = TimeUnit(context.metric.unit.isEmpty ? "s" : context.metric.unit)?.milliseconds ?? 1000
        func weighted(_ kind: EventKind, _ count: Double) -> Event {
            Event(kind, at: time, sampleRate: SampleRate(weight: count) ?? .all)
        }
        switch metric {
        case .duration:
            let errorType = attribute("error.type")
            return observations.map { observation in
                let outcome = CallOutcome(success: errorType == nil, errorType: errorType, durationMs: observation.value * milliseconds)
                return weighted(.providerCall(ProviderCall(provider: provider, model: model, outcome: outcome)), observation.count)
            }
        case .tokens:
            let tokens = sum ?? observations.reduce(0) { $0 + $1.value * $1.count }
            let usage: ProviderUsage? = switch attribute("gen_ai.token.type") {
            case "input": ProviderUsage(provider: provider, model: model, inputTokens: tokens)
            case "output": ProviderUsage(provider: provider, model: model, outputTokens: tokens)
            default: nil
            }
            return usage.map { [Event(.providerUsage($0), at: time)] }
        case .timeToFirstToken:
            return observations.compactMap { observation in
                ProviderUsage(provider: provider, model: model, ttftMs: observation.value * milliseconds)
                    .map { weighted(.providerUsage($0), observation.count) }
            }
        }
    }

    /// A custom metric's event: the point's attributes and the resource's service as labels.
    private func custom(_ context: MetricContext, _ header: OTLP.PointHeader, _ update: MetricUpdate, at time: Double,
                        into mapped: inout OTLPMapped) throws(Refusal) -> OTLPPointOutcome {
        let name = MetricNaming.metricName(context.metric.name)
        let unit = context.metric.unit.isEmpty ? nil : context.metric.unit
        if let problem = catalog?.admit(name, update.kind, unit: unit) { throw Refusal(message: problem) }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(header.attributes.count + 1)
        for attribute in header.attributes {
            let key = MetricNaming.labelName(attribute.key.utf8)
            guard !MetricNaming.isReservedLabel(key) else {
                throw Refusal(message: "the attribute '\(attribute.key)' is a reserved label name (__…, le, quantile, job, instance)")
            }
            let value = attribute.value.text
            guard value.utf8.count <= MetricLabels.maxValueBytes else {
                throw Refusal(message: "the attribute '\(attribute.key)' has a value longer than \(MetricLabels.maxValueBytes) bytes")
            }
            guard key != "service" || context.service == nil else { continue }  // the resource's service.name is the label
            pairs.append((key, value))
        }
        let room = MetricLabels.maxCount - (context.service == nil ? 0 : 1)
        if pairs.count > room {
            pairs.sort { $0.0 < $1.0 }
            mapped.labelsDropped += pairs.count - room
            pairs.removeLast(pairs.count - room)
        }
        if let service = context.service {
            guard service.utf8.count <= MetricLabels.maxValueBytes else {
                throw Refusal(message: "the resource's service.name is longer than \(MetricLabels.maxValueBytes) bytes")
            }
            pairs.append(("service", service))
        }
        mapped.events.append(Event(.metric(MetricSample(name: name, update, unit: unit, labels: MetricLabels(pairs), source: .otlp)), at: time))
        return .customMetric
    }
}
