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
                    request.resources.append(try nested(&reader, type, "resource_metrics", resourceMetrics))
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
                    request.resources.append(try nested(&reader, type, "resource_spans", resourceSpans))
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

    /// An embedded message field, read by `decode`.
    @inline(__always)
    private static func nested<Value>(_ reader: inout ProtobufReader, _ type: ProtobufReader.WireType, _ field: String,
                                      _ decode: (inout ProtobufReader) throws(ProtobufError) -> Value) throws(ProtobufError) -> Value {
        try expect(type, .lengthDelimited, field)
        var message = try reader.message()
        return try decode(&message)
    }

    /// A `fixed64` or `double` field.
    @inline(__always)
    private static func fixed(_ reader: inout ProtobufReader, _ type: ProtobufReader.WireType, _ field: String) throws(ProtobufError) -> UInt64 {
        try expect(type, .fixed64, field)
        return try reader.fixed64()
    }

    private static func resource(_ reader: inout ProtobufReader) throws(ProtobufError) -> OTLP.Resource {
        var attributes: [OTLP.Attribute] = []
        try fields(&reader) { number, type, reader throws(ProtobufError) in
            guard number == 1 else { return false }
            attributes.append(try nested(&reader, type, "attributes", attribute))
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
                value = try nested(&reader, type, "value", anyValue)
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
                result.resource = try nested(&reader, type, "resource", resource)
            case 2:
                result.scopes.append(try nested(&reader, type, "scope_metrics", scopeMetrics))
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
                result.scope = try nested(&reader, type, "scope", scopeIdentity)
            case 2:
                result.metrics.append(try nested(&reader, type, "metrics", metric))
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
                result.data = try nested(&reader, type, "data") { message throws(ProtobufError) in try data(number, &message) }
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
            header.attributes.append(try nested(&reader, type, "attributes", attribute))
        case 2:
            header.startTimeUnixNano = try fixed(&reader, type, "start_time_unix_nano")
        case 3:
            header.timeUnixNano = try fixed(&reader, type, "time_unix_nano")
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
                point.value = Double(bitPattern: try fixed(&reader, type, "as_double"))
            case 6:
                point.value = Double(Int64(bitPattern: try fixed(&reader, type, "as_int")))
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
                point.count = try fixed(&reader, type, "count")
            case 5:
                point.sum = Double(bitPattern: try fixed(&reader, type, "sum"))
            case 6: try reader.fixed64s(type, into: &point.bucketCounts)
            case 7: try reader.fixed64s(type, into: &bounds)
            case 11:
                point.min = Double(bitPattern: try fixed(&reader, type, "min"))
            case 12:
                point.max = Double(bitPattern: try fixed(&reader, type, "max"))
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
                point.count = try fixed(&reader, type, "count")
            case 5:
                point.sum = Double(bitPattern: try fixed(&reader, type, "sum"))
            case 6:
                try expect(type, .varint, "scale")
                point.scale = try reader.sint32()
            case 7:
                point.zeroCount = try fixed(&reader, type, "zero_count")
            case 8, 9:
                let buckets = try nested(&reader, type, "buckets", exponentialBuckets)
                if number == 8 { point.positive = buckets } else { point.negative = buckets }
            case 12:
                point.min = Double(bitPattern: try fixed(&reader, type, "min"))
            case 13:
                point.max = Double(bitPattern: try fixed(&reader, type, "max"))
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
                result.serviceName = try nested(&reader, type, "resource", serviceName)
            case 2:
                try expect(type, .lengthDelimited, "scope_spans")
                var scope = try reader.message()
                try fields(&scope) { number, type, scope throws(ProtobufError) in
                    guard number == 2 else { return false }
                    result.spans.append(try nested(&scope, type, "spans", span))
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
            let pair = try nested(&reader, type, "attributes", attribute)
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
                span.startTimeUnixNano = try fixed(&reader, type, "start_time_unix_nano")
            case 8:
                span.endTimeUnixNano = try fixed(&reader, type, "end_time_unix_nano")
            case 9:
                try nested(&reader, type, "attributes") { keyValue throws(ProtobufError) in try spanAttribute(&keyValue, into: &span.attributes) }
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
