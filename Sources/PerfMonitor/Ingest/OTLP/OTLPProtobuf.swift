import PerfJSON

/// Decodes OTLP/HTTP protobuf bodies (`ExportMetricsServiceRequest`, `ExportTraceServiceRequest`
/// of opentelemetry-proto v1.11.0, committed under Protos/) into the `OTLP` model. Unknown fields
/// are skipped, as protobuf requires; a field of the wrong wire type or a truncated message is an
/// error for the whole body.
public enum OTLPProtobuf {
    public static func metrics(_ body: UnsafeRawBufferPointer) throws(ProtobufDecodingError) -> OTLP.MetricsRequest {
        do {
            var reader = ProtobufReader(body)
            var request = OTLP.MetricsRequest()
            while let (number, type) = try reader.nextField() {
                if number == 1 {
                    try expect(type, .lengthDelimited, "resource_metrics")
                    var message = try reader.message()
                    request.resources.append(try resourceMetrics(&message))
                } else {
                    try reader.skip(type)
                }
            }
            return request
        } catch {
            throw ProtobufDecodingError(message: error.message)
        }
    }

    public static func traces(_ body: UnsafeRawBufferPointer) throws(ProtobufDecodingError) -> OTLP.TracesRequest {
        do {
            var reader = ProtobufReader(body)
            var request = OTLP.TracesRequest()
            while let (number, type) = try reader.nextField() {
                if number == 1 {
                    try expect(type, .lengthDelimited, "resource_spans")
                    var message = try reader.message()
                    request.resources.append(try resourceSpans(&message))
                } else {
                    try reader.skip(type)
                }
            }
            return request
        } catch {
            throw ProtobufDecodingError(message: error.message)
        }
    }

    // MARK: Common

    /// Reads the fields of a message: `body` is handed each field it may keep, and answers false
    /// for those it does not, which are skipped.
    private static func fields(_ reader: inout ProtobufReader,
                               _ body: (UInt64, ProtobufReader.WireType, inout ProtobufReader) throws(ProtobufError) -> Bool) throws(ProtobufError) {
        while let (number, type) = try reader.nextField() {
            if try !body(number, type, &reader) { try reader.skip(type) }
        }
    }

    /// Checks that a field has the wire type its number must have.
    @inline(__always)
    private static func expect(_ type: ProtobufReader.WireType, _ wanted: ProtobufReader.WireType, _ field: String) throws(ProtobufError) {
        guard type == wanted else { throw ProtobufError("field '\(field)' of wire type \(type.rawValue), not \(wanted.rawValue)", at: 0) }
    }

    private static func resource(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Resource {
        var attributes: [OTLP.Attribute] = []
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            guard number == 1 else { return false }
            try expect(type, .lengthDelimited, "attributes")
            var keyValue = try reader.message()
            attributes.append(try attribute(&keyValue))
            return true
        }
        return OTLP.Resource(attributes: attributes)
    }

    private static func attribute(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Attribute {
        var key = "", value = OTLP.Value.string("")
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "key")
                key = try reader.string()
            case 2:
                try expect(type, .lengthDelimited, "value")
                var any = try reader.message()
                value = try anyValue(&any)
            default: return false
            }
            return true
        }
        return OTLP.Attribute(key, value)
    }

    private static func anyValue(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Value {
        var value = OTLP.Value.string("")
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch (number, type) {
            case (1, .lengthDelimited): value = .string(try reader.string())
            case (2, .varint): value = .bool(try reader.varint() != 0)
            case (3, .varint): value = .int(Int64(bitPattern: try reader.varint()))
            case (4, .fixed64): value = .double(try reader.double())
            case (5, .lengthDelimited), (6, .lengthDelimited):
                var nested = try reader.message()
                value = .other(try json(of: &nested, isMap: number == 6).rendered)
            case (7, .lengthDelimited):
                value = .other(try reader.rawBytes().map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined())
            case (1...7, _): throw ProtobufError("AnyValue field \(number) of wire type \(type.rawValue)", at: 0)
            default: return false
            }
            return true
        }
        return value
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }

    /// An `ArrayValue` or `KeyValueList` as JSON.
    private static func json(of reader: inout ProtobufReader, isMap: Bool) throws(ProtobufError) -> JSONValue {
        var items: [JSONValue] = [], members: [(String, JSONValue)] = []
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            guard number == 1, type == .lengthDelimited else { return false }
            var item = try reader.message()
            if isMap {
                let pair = try attribute(&item)
                members.append((pair.key, .string(pair.value.text)))
            } else {
                items.append(.string(try anyValue(&item).text))
            }
            return true
        }
        return isMap ? .object(members) : .array(items)
    }

    private static func scopeIdentity(_ reader: inout ProtobufReader) throws(ProtobufError) -> String {
        var name = "", version = ""
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            guard number == 1 || number == 2, type == .lengthDelimited else { return false }
            if number == 1 { name = try reader.string() } else { version = try reader.string() }
            return true
        }
        return version.isEmpty ? name : name + "@" + version
    }

    // MARK: Metrics

    private static func resourceMetrics(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.ResourceMetrics {
        var result = OTLP.ResourceMetrics()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "resource")
                var message = try reader.message()
                result.resource = try resource(&message)
            case 2:
                try expect(type, .lengthDelimited, "scope_metrics")
                var message = try reader.message()
                result.scopes.append(try scopeMetrics(&message))
            default: return false
            }
            return true
        }
        return result
    }

    private static func scopeMetrics(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.ScopeMetrics {
        var result = OTLP.ScopeMetrics()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "scope")
                var message = try reader.message()
                result.scope = try scopeIdentity(&message)
            case 2:
                try expect(type, .lengthDelimited, "metrics")
                var message = try reader.message()
                result.metrics.append(try metric(&message))
            default: return false
            }
            return true
        }
        return result
    }

    private static func metric(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Metric {
        var result = OTLP.Metric()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "name")
                result.name = try reader.string()
            case 3:
                try expect(type, .lengthDelimited, "unit")
                result.unit = try reader.string()
            case 5, 7, 9, 10, 11:
                try expect(type, .lengthDelimited, "data")
                var message = try reader.message()
                result.data = try data(number, &message)
            default: return false
            }
            return true
        }
        return result
    }

    /// The metric's data: field 5 gauge, 7 sum, 9 histogram, 10 exponential histogram, 11 summary.
    private static func data(_ field: UInt64, _ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Metric.Data {
        var numbers: [OTLP.NumberPoint] = [], histograms: [OTLP.HistogramPoint] = [], exponentials: [OTLP.ExponentialPoint] = []
        var summaries = 0, temporality = OTLP.Temporality.unspecified, monotonic = false
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "data_points")
                var message = try reader.message()
                switch field {
                case 5, 7: numbers.append(try numberPoint(&message))
                case 9: histograms.append(try histogramPoint(&message))
                case 10: exponentials.append(try exponentialPoint(&message))
                default: summaries += 1
                }
            case 2 where field != 5 && field != 11:
                try expect(type, .varint, "aggregation_temporality")
                temporality = OTLP.Temporality(rawValue: Int(truncatingIfNeeded: try reader.varint())) ?? .unspecified
            case 3 where field == 7:
                try expect(type, .varint, "is_monotonic")
                monotonic = try reader.varint() != 0
            default: return false
            }
            return true
        }
        switch field {
        case 5: return .gauge(numbers)
        case 7: return .sum(numbers, temporality, monotonic: monotonic)
        case 9: return .histogram(histograms, temporality)
        case 10: return .exponentialHistogram(exponentials, temporality)
        default: return .summary(points: summaries)
        }
    }

    /// The fields every point has; false for other field numbers. The attributes' number differs by point type.
    private static func header(_ header: inout OTLP.PointHeader, _ number: UInt64, _ type: ProtobufReader.WireType,
                               _ reader: inout ProtobufReader, attributes: UInt64, flags: UInt64) throws(ProtobufError) -> Bool {
        switch number {
        case attributes:
            try expect(type, .lengthDelimited, "attributes")
            var message = try reader.message()
            header.attributes.append(try attribute(&message))
        case 2:
            try expect(type, .fixed64, "start_time_unix_nano")
            header.startTimeUnixNano = try reader.fixed64()
        case 3:
            try expect(type, .fixed64, "time_unix_nano")
            header.timeUnixNano = try reader.fixed64()
        case flags:
            try expect(type, .varint, "flags")
            header.noRecordedValue = try reader.varint() & 1 != 0
        default: return false
        }
        return true
    }

    private static func numberPoint(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.NumberPoint {
        var point = OTLP.NumberPoint()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 4:
                try expect(type, .fixed64, "as_double")
                point.value = try reader.double()
            case 6:
                try expect(type, .fixed64, "as_int")
                point.value = Double(Int64(bitPattern: try reader.fixed64()))
            default: return try header(&point.header, number, type, &reader, attributes: 7, flags: 8)
            }
            return true
        }
        return point
    }

    private static func histogramPoint(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.HistogramPoint {
        var point = OTLP.HistogramPoint()
        var bounds: [UInt64] = []
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 4:
                try expect(type, .fixed64, "count")
                point.count = try reader.fixed64()
            case 5:
                try expect(type, .fixed64, "sum")
                point.sum = try reader.double()
            case 6: try reader.fixed64s(type, into: &point.bucketCounts)
            case 7: try reader.fixed64s(type, into: &bounds)
            case 11:
                try expect(type, .fixed64, "min")
                point.min = try reader.double()
            case 12:
                try expect(type, .fixed64, "max")
                point.max = try reader.double()
            default: return try header(&point.header, number, type, &reader, attributes: 9, flags: 10)
            }
            return true
        }
        point.explicitBounds = bounds.map(Double.init(bitPattern:))
        return point
    }

    private static func exponentialPoint(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.ExponentialPoint {
        var point = OTLP.ExponentialPoint()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1, 2, 3, 10: return try header(&point.header, number, type, &reader, attributes: 1, flags: 10)
            case 4:
                try expect(type, .fixed64, "count")
                point.count = try reader.fixed64()
            case 5:
                try expect(type, .fixed64, "sum")
                point.sum = try reader.double()
            case 6:
                try expect(type, .varint, "scale")
                point.scale = try reader.sint32()
            case 7:
                try expect(type, .fixed64, "zero_count")
                point.zeroCount = try reader.fixed64()
            case 8, 9:
                try expect(type, .lengthDelimited, "buckets")
                var message = try reader.message()
                let buckets = try exponentialBuckets(&message)
                if number == 8 { point.positive = buckets } else { point.negative = buckets }
            case 12:
                try expect(type, .fixed64, "min")
                point.min = try reader.double()
            case 13:
                try expect(type, .fixed64, "max")
                point.max = try reader.double()
            default: return false
            }
            return true
        }
        return point
    }

    private static func exponentialBuckets(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.ExponentialPoint.Buckets {
        var buckets = OTLP.ExponentialPoint.Buckets()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .varint, "offset")
                buckets.offset = try reader.sint32()
            case 2: try reader.varints(type, into: &buckets.counts)
            default: return false
            }
            return true
        }
        return buckets
    }

    // MARK: Traces

    private static func resourceSpans(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.ResourceSpans {
        var result = OTLP.ResourceSpans()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "resource")
                var message = try reader.message()
                result.serviceName = try serviceName(&message)
            case 2:
                try expect(type, .lengthDelimited, "scope_spans")
                var scope = try reader.message()
                try fields(&scope) { number, type, scope throws(ProtobufError) in
                    guard number == 2 else { return false }
                    try expect(type, .lengthDelimited, "spans")
                    var message = try scope.message()
                    result.spans.append(try span(&message))
                    return true
                }
            default: return false
            }
            return true
        }
        return result
    }

    /// Only `service.name` of a span's resource is read.
    private static func serviceName(_ reader: inout ProtobufReader) throws(ProtobufError) -> String? {
        var name: String?
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            guard number == 1 else { return false }
            try expect(type, .lengthDelimited, "attributes")
            var keyValue = try reader.message()
            let pair = try attribute(&keyValue)
            if pair.key == "service.name" { name = pair.value.text }
            return true
        }
        return name
    }

    private static func span(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Span {
        var span = OTLP.Span()
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 5:
                try expect(type, .lengthDelimited, "name")
                span.name = try reader.string()
            case 6:
                try expect(type, .varint, "kind")
                span.kind = Int(truncatingIfNeeded: try reader.varint())
            case 7:
                try expect(type, .fixed64, "start_time_unix_nano")
                span.startTimeUnixNano = try reader.fixed64()
            case 8:
                try expect(type, .fixed64, "end_time_unix_nano")
                span.endTimeUnixNano = try reader.fixed64()
            case 9:
                try expect(type, .lengthDelimited, "attributes")
                var keyValue = try reader.message()
                try spanAttribute(&keyValue, into: &span.attributes)
            case 15:
                try expect(type, .lengthDelimited, "status")
                var status = try reader.message()
                try fields(&status) { number, type, status throws(ProtobufError) in
                    switch (number, type) {
                    case (2, .lengthDelimited): span.statusMessage = try status.string()
                    case (3, .varint): span.statusCode = Int(truncatingIfNeeded: try status.varint())
                    default: return false
                    }
                    return true
                }
            default: return false
            }
            return true
        }
        return span
    }

    /// A span attribute, kept when its key is one the mapping reads: the key is compared as bytes,
    /// so the many a span carries (prompts among them) cost no string.
    private static func spanAttribute(_ reader: inout ProtobufReader, into attributes: inout OTLP.SpanAttributes) throws(ProtobufError) {
        var field: OTLP.SpanAttributes.Field?
        var valueReader: ProtobufReader?
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            switch number {
            case 1:
                try expect(type, .lengthDelimited, "key")
                field = OTLP.SpanAttributes.Field(bytes: try reader.rawBytes())
            case 2:
                try expect(type, .lengthDelimited, "value")
                valueReader = try reader.message()
            default: return false
            }
            return true
        }
        guard let field, var valueReader else { return }
        attributes.set(field, try anyValue(&valueReader))
    }
}

/// An OTLP protobuf body that does not decode (answered `400` with a `google.rpc.Status`).
public struct ProtobufDecodingError: Error, Equatable {
    public let message: String
}
