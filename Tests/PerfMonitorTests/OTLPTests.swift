@testable import PerfMonitor
import Testing

/// OTLP bodies decoded and mapped without a socket (api.md §6.2): the wire format, the
/// temporality rules, the histogram buckets and the span rules, each with what it must refuse.
@Suite struct OTLPTests {
    static let second: UInt64 = 1_000_000_000
    /// perfmond "started" at Unix second 1000; the points come later.
    static let startedAt = 1000.0
    static let now = 2000.0

    /// An `ExportMetricsServiceRequest` with one resource (service `svc`), one scope and one metric.
    static func metricsBody(_ metric: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var writer = ProtobufWriter()
        writer.message(1) { resourceMetrics in
            resourceMetrics.message(1) { resource in
                resource.message(1) { attribute in
                    attribute.string(1, "service.name")
                    attribute.message(2) { $0.string(1, "svc") }
                }
            }
            resourceMetrics.message(2) { scope in
                scope.message(1) { $0.string(1, "test-scope") }
                scope.message(2, metric)
                scope.int(99, 7)  // an unknown field: skipped
            }
        }
        return writer.bytes
    }

    /// A monotonic cumulative sum `requests` with one point.
    static func counterBody(value: Double, start: UInt64, time: UInt64) -> [UInt8] {
        metricsBody { metric in
            metric.string(1, "requests")
            metric.message(7) { sum in
                sum.message(1) { point in
                    point.message(7) { attribute in
                        attribute.string(1, "route")
                        attribute.message(2) { $0.string(1, "/chat") }
                    }
                    point.fixed64(2, start)
                    point.fixed64(3, time)
                    point.double(4, value)
                }
                sum.int(2, 2)  // cumulative
                sum.int(3, 1)  // monotonic
            }
        }
    }

    func decode(_ body: [UInt8]) throws(ProtobufDecodingError) -> OTLP.MetricsRequest {
        try body.withUnsafeBytes { bytes in Result { () throws(ProtobufDecodingError) in try OTLPProtobuf.metrics(bytes) } }.get()
    }

    func mapping(_ options: OTLPOptions = OTLPOptions(), streams: CumulativeStreams? = nil, services: GenAISpanServices = GenAISpanServices()) -> OTLPMetricsMapping {
        OTLPMetricsMapping(options: options, streams: streams ?? CumulativeStreams(maxStreams: 1000, startedAt: Self.startedAt), services: services,
                           catalog: MetricCatalog(), maxAgeSeconds: 86_400)
    }

    /// The counter increments a body's events carry.
    func increments(_ mapped: OTLPMapped) -> [Double] {
        mapped.events.compactMap { event in
            if case let .metric(sample) = event.kind, case let .counter(increment) = sample.update { return increment }
            return nil
        }
    }

    @Test func protobufDecodesEveryFieldTheMappingReads() throws {
        let request = try decode(Self.counterBody(value: 42, start: 1500 * Self.second, time: 1990 * Self.second))
        let resource = try #require(request.resources.first)
        #expect(resource.resource.serviceName == "svc")
        let scope = try #require(resource.scopes.first)
        #expect(scope.scope == "test-scope")
        let metric = try #require(scope.metrics.first)
        #expect(metric.name == "requests")
        guard case let .sum(points, temporality, monotonic) = metric.data else { Issue.record("not a sum: \(metric.data)"); return }
        #expect(temporality == .cumulative && monotonic && points.count == 1)
        #expect(points[0].value == 42 && points[0].header.startTimeUnixNano == 1500 * Self.second)
        #expect(points[0].header.attributes == [OTLP.Attribute("route", .string("/chat"))])
    }

    @Test func aTruncatedOrMistypedBodyDoesNotDecode() {
        let body = Self.counterBody(value: 42, start: 1, time: 2)
        for cut in [1, 5, body.count / 2, body.count - 1] {
            #expect(throws: ProtobufDecodingError.self, "cut at \(cut)") { try decode(Array(body.prefix(cut))) }
        }
        var mistyped = ProtobufWriter()
        mistyped.int(1, 5)  // resource_metrics as a varint
        #expect(throws: ProtobufDecodingError.self) { try decode(mistyped.bytes) }
        #expect((try? decode([])) == OTLP.MetricsRequest(), "an empty body is an empty request")
    }

    @Test func cumulativePointsAreDifferencedPerStream() throws {
        let mapping = mapping()
        func map(_ value: Double, start: UInt64, time: UInt64) throws -> [Double] {
            increments(mapping.map(try decode(Self.counterBody(value: value, start: start * Self.second, time: time * Self.second)),
                                   now: Self.now) { _ in true })
        }
        #expect(try map(10, start: 1500, time: 1900) == [10], "a stream that started after perfmond counts whole")
        #expect(try map(10, start: 1500, time: 1900) == [], "the same point again adds nothing")
        #expect(try map(14, start: 1500, time: 1910) == [4])
        #expect(try map(12, start: 1500, time: 1905) == [], "an older point, late, adds nothing")
        #expect(try map(3, start: 1500, time: 1920) == [3], "a value that goes down is a reset")
        #expect(try map(5, start: 1915, time: 1930) == [5], "a new start time is a reset")
        #expect(try map(9, start: 1915, time: 1940) == [4])

        let older = self.mapping()
        let first = older.map(try decode(Self.counterBody(value: 100, start: 900 * Self.second, time: 1900 * Self.second)), now: Self.now) { _ in true }
        #expect(increments(first).isEmpty && first.points[.unchanged] == 1, "a stream older than perfmond only sets its baseline")
    }

    @Test func aRequestRefusedWholeLeavesTheStreamsAsTheyWere() throws {
        let streams = CumulativeStreams(maxStreams: 1000, startedAt: Self.startedAt)
        let mapping = mapping(streams: streams)
        let body = try decode(Self.counterBody(value: 10, start: 1500 * Self.second, time: 1900 * Self.second))
        _ = mapping.map(body, now: Self.now) { _ in false }  // the queue was full
        #expect(streams.count == 0)
        #expect(increments(mapping.map(body, now: Self.now) { _ in true }) == [10], "the retry counts")
    }

    @Test func theStreamTableIsBoundedAndCountsItsEvictions() throws {
        let streams = CumulativeStreams(maxStreams: 8, startedAt: Self.startedAt)
        let mapping = mapping(streams: streams)
        for route in 0..<20 {
            let body = Self.metricsBody { metric in
                metric.string(1, "requests")
                metric.message(7) { sum in
                    sum.message(1) { point in
                        point.message(7) { attribute in
                            attribute.string(1, "route")
                            attribute.message(2) { $0.string(1, "/r\(route)") }
                        }
                        point.fixed64(2, 1500 * Self.second)
                        point.fixed64(3, 1900 * Self.second)
                        point.double(4, 1)
                    }
                    sum.int(2, 2)
                    sum.int(3, 1)
                }
            }
            _ = mapping.map(try decode(body), now: Self.now + Double(route)) { _ in true }
        }
        #expect(streams.count <= 8 && streams.evicted == 20 - streams.count)
    }

    @Test func theStreamsSurviveARestartThroughTheSnapshot() throws {
        let before = CumulativeStreams(maxStreams: 1000, startedAt: Self.startedAt)
        _ = mapping(streams: before).map(try decode(Self.counterBody(value: 10, start: 1500 * Self.second, time: 1900 * Self.second)),
                                         now: Self.now) { _ in true }
        var snapshot = try StoreSnapshot.decode(StoreSnapshot(savedAt: Self.now, layout: WindowLayout(collectionIntervalSeconds: 10, retentionSeconds: 86_400), series: [:],
                                                              openRequests: [:], openProviderCalls: [:], counters: [:]).encoded())
        snapshot.sections[CumulativeStreams.snapshotSection] = before.encoded()
        let restored = try StoreSnapshot.decode(snapshot.encoded())
        // perfmond restarted after the stream began: without its last point, the next one would only set a baseline.
        let after = CumulativeStreams(maxStreams: 1000, startedAt: Self.now - 10)
        try after.restore(try #require(restored.sections[CumulativeStreams.snapshotSection]))
        let next = mapping(streams: after).map(try decode(Self.counterBody(value: 16, start: 1500 * Self.second, time: 1995 * Self.second)),
                                               now: Self.now) { _ in true }
        #expect(increments(next) == [6], "counted from the last point before the restart")
        #expect(throws: SnapshotError.self) { try after.restore([1, 0, 0, 0]) }
    }

    @Test func exponentialBucketsAreAlignedWhenTheScaleDrops() {
        var before = OTLP.ExponentialPoint.Buckets()
        before.offset = 10
        before.counts = [1, 2, 3, 4]  // indices 10…13 at scale 3
        let downscaled = CumulativeStreams.Table.downscaled(before, by: 1)
        #expect(downscaled.offset == 5 && downscaled.counts == [3, 7], "10,11 → 5 and 12,13 → 6")
        var now = OTLP.ExponentialPoint.Buckets()
        now.offset = 4
        now.counts = [1, 4, 9]
        let delta = CumulativeStreams.Table.subtract(now, downscaled)
        #expect(delta?.offset == 4 && delta?.counts == [1, 1, 2])
        now.counts = [1, 2, 9]
        #expect(CumulativeStreams.Table.subtract(now, downscaled) == nil, "a bucket that went down is a reset")
    }

    @Test func histogramBucketsBecomeWeightedValues() throws {
        var point = OTLP.HistogramPoint()
        point.explicitBounds = [1, 4, 16]
        point.bucketCounts = [2, 3, 0, 5]
        point.count = 10
        point.min = 0.5
        point.max = 20
        let values = try HistogramObservations.of(point)
        #expect(values == [.init(value: 0.5.squareRoot(), count: 2), .init(value: 2, count: 3), .init(value: (16.0 * 20).squareRoot(), count: 5)],
                "geometric middles: √(0.5·1) from the min, √(1·4), √(16·20) to the max")
        point.count = 11
        #expect(throws: HistogramObservations.Invalid.self, "a count that is not the buckets' sum") { try HistogramObservations.of(point) }
        point.count = 10
        point.explicitBounds = [1, 1, 16]
        #expect(throws: HistogramObservations.Invalid.self, "bounds that do not increase") { try HistogramObservations.of(point) }

        var exponential = OTLP.ExponentialPoint()
        exponential.scale = 3
        exponential.positive.offset = 8  // (2^(8/8), 2^(9/8)] = (2, 2.18]
        exponential.positive.counts = [4]
        exponential.zeroCount = 1
        exponential.count = 5
        let spread = try HistogramObservations.of(exponential)
        #expect(spread.count == 2 && spread[0] == .init(value: 0, count: 1))
        #expect(abs(spread[1].value - Double.squareRoot(2 * 2.1810154653305154)()) < 1e-9 && spread[1].count == 4)
    }

    @Test func aGenAIHistogramBecomesWeightedProviderCalls() throws {
        var point = OTLP.HistogramPoint()
        point.header.attributes = [OTLP.Attribute("gen_ai.provider.name", .string("openai")), OTLP.Attribute("gen_ai.request.model", .string("gpt-4o")),
                                   OTLP.Attribute("error.type", .string("timeout"))]
        point.header.timeUnixNano = 1990 * Self.second
        point.explicitBounds = [1]
        point.bucketCounts = [37, 0]
        point.count = 37
        point.min = 0.5
        point.max = 0.5
        var metric = OTLP.Metric()
        metric.name = "gen_ai.client.operation.duration"
        metric.unit = "s"
        metric.data = .histogram([point], .delta)
        var request = OTLP.MetricsRequest()
        var resource = OTLP.ResourceMetrics()
        var scope = OTLP.ScopeMetrics()
        scope.metrics = [metric]
        resource.scopes = [scope]
        request.resources = [resource]
        let mapped = mapping().map(request, now: Self.now) { _ in true }
        let event = try #require(mapped.events.first)
        #expect(mapped.events.count == 1 && event.weight == 37, "one event standing for 37 calls")
        guard case let .providerCall(call) = event.kind else { Issue.record("not a provider call"); return }
        #expect(call.provider == "openai" && call.model == "gpt-4o" && call.outcome.durationMs == 500 && !call.outcome.success)

        let spans = GenAISpanServices()
        spans.saw("", at: Self.now)
        let shadowed = mapping(services: spans).map(request, now: Self.now) { _ in true }
        #expect(shadowed.points[.customMetric] == 1, "a service whose GenAI spans feed the provider stats keeps its GenAI metrics as custom metrics")
    }

    @Test func jsonRefusesAMistypedPointAndKeepsTheRest() throws {
        let body = #"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeMetrics":[{"metrics":[{"name":"level","gauge":{"dataPoints":[{"asDouble":"abc"},{"asInt":"7","timeUnixNano":"1990000000000"}]}}]}]}]}"#
        let request = try OTLPJSON.metrics(Array(body.utf8))
        #expect(request.refusals.count == 1 && request.refusals.errorMessage.contains("asDouble"))
        guard case let .gauge(points)? = request.resources.first?.scopes.first?.metrics.first?.data else { Issue.record("no gauge"); return }
        #expect(points.count == 1 && points[0].value == 7 && points[0].header.timeUnixNano == 1_990_000_000_000)
        #expect(throws: ProtobufDecodingError.self) { try OTLPJSON.metrics(Array(#"{"resourceMetrics":{}}"#.utf8)) }
    }

    @Test func everySpanAttributeKeyIsFoundByItsBytes() {
        for field in OTLP.SpanAttributes.Field.allCases {
            #expect(OTLP.SpanAttributes.field(field.key.description) == field, "\(field.key)")
        }
        #expect(OTLP.SpanAttributes.field("gen_ai.prompt") == nil && OTLP.SpanAttributes.field("error.typo") == nil)
    }

    func span(_ name: String, kind: OTLP.SpanKind, start: UInt64, end: UInt64, _ attributes: [(String, OTLP.Value)]) -> OTLP.Span {
        var span = OTLP.Span()
        span.name = name
        span.kind = kind.rawValue
        span.startTimeUnixNano = start
        span.endTimeUnixNano = end
        for (key, value) in attributes { span.attributes.take(key, value) }
        return span
    }

    @Test func spansBecomeCallsRequestsOrOperationsAsSelected() {
        let start = 1990 * Self.second
        var resource = OTLP.ResourceSpans()
        resource.serviceName = "gateway"
        resource.spans = [
            span("chat", kind: .client, start: start, end: start + 812_500_000, [("gen_ai.system", .string("anthropic")), ("gen_ai.usage.input_tokens", .int(12))]),
            span("POST /chat", kind: .server, start: start, end: start + 40_000_000, [("http.route", .string("/chat")), ("http.response.status_code", .int(503))]),
            span("db query", kind: .internal, start: start, end: start + 1_000_000, []),
            span("backwards", kind: .client, start: start, end: start - 1, [("gen_ai.system", .string("anthropic"))]),
        ]
        var request = OTLP.TracesRequest()
        request.resources = [resource]
        let services = GenAISpanServices()
        let mapped = OTLPSpanMapping(options: OTLPOptions(), services: services, maxAgeSeconds: 86_400).map(request, now: Self.now)
        #expect(mapped.spans[.providerCall] == 1 && mapped.spans[.endpointRequest] == 1 && mapped.spans[.ignored] == 1 && mapped.spans[.rejected] == 1)
        #expect(mapped.refusals.errorMessage.contains("ends before it starts"))
        guard case let .providerCall(call) = mapped.events[0].kind, case let .request(endpoint) = mapped.events[1].kind else {
            Issue.record("\(mapped.events)")
            return
        }
        #expect(call.provider == "anthropic" && call.outcome.durationMs == 812.5 && call.outcome.inputTokens == 12)
        #expect(endpoint.endpoint == "/chat" && endpoint.outcome.statusCode == 503 && !endpoint.outcome.success)

        var all = OTLPOptions()
        all.spans = .all
        all.genAISource = .metrics
        let everything = OTLPSpanMapping(options: all, services: services, maxAgeSeconds: 86_400).map(request, now: Self.now)
        #expect(everything.spans[.operation] == 2 && everything.spans[.endpointRequest] == 1,
                "otlp_spans: all makes the other spans operations; with otlp_genai_source: metrics a GenAI span is one of them")
        #expect(OTLPOptions.SpanSelection(text: "genai, server") == [.genai, .server] && OTLPOptions.SpanSelection(text: "spans") == nil)
    }
}
