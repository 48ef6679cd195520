import PerfJSON

/// Decodes OTLP/HTTP JSON bodies (protobuf's JSON mapping as OTLP fixes it: lowerCamelCase keys —
/// the proto's snake_case names are read too —, enums as numbers or names, 64-bit integers as
/// strings or numbers) into the `OTLP` model. A body that is not JSON, or whose structure is
/// wrong, is an error for the whole body; a data point or span with a value of the wrong type is
/// refused alone and counted in the model's `refusals`.
public enum OTLPJSON {
    public static func metrics(_ body: [UInt8]) throws(ProtobufDecodingError) -> OTLP.MetricsRequest {
        let root = try parse(body)
        var request = OTLP.MetricsRequest()
        for resource in try list(root, "resourceMetrics", "resource_metrics") {
            var result = OTLP.ResourceMetrics()
            result.resource = OTLP.Resource(attributes: try attributes(member(resource, "resource"), "resource"))
            for scope in try list(resource, "scopeMetrics", "scope_metrics") {
                var scopeMetrics = OTLP.ScopeMetrics()
                if let identity = member(scope, "scope") {
                    let name = member(identity, "name")?.stringValue ?? "", version = member(identity, "version")?.stringValue ?? ""
                    scopeMetrics.scope = version.isEmpty ? name : name + "@" + version
                }
                for metric in try list(scope, "metrics") {
                    scopeMetrics.metrics.append(try self.metric(metric, refusals: &request.refusals))
                }
                result.scopes.append(scopeMetrics)
            }
            request.resources.append(result)
        }
        return request
    }

    public static func traces(_ body: [UInt8]) throws(ProtobufDecodingError) -> OTLP.TracesRequest {
        let root = try parse(body)
        var request = OTLP.TracesRequest()
        for resource in try list(root, "resourceSpans", "resource_spans") {
            var result = OTLP.ResourceSpans()
            result.serviceName = try attributes(member(resource, "resource"), "resource").first { $0.key == "service.name" }?.value.text
            for scope in try list(resource, "scopeSpans", "scope_spans") {
                for span in try list(scope, "spans") {
                    do {
                        result.spans.append(try self.span(span))
                    } catch {
                        request.refusals.add(error.message)
                    }
                }
            }
            request.resources.append(result)
        }
        return request
    }

    // MARK: Structure

    private static func parse(_ body: [UInt8]) throws(ProtobufDecodingError) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw ProtobufDecodingError(message: "invalid JSON at byte \(error.offset): \(error.message)")
        }
    }

    /// A member by its JSON name, else its proto name.
    private static func member(_ value: JSONValue?, _ camel: String, _ snake: String? = nil) -> JSONValue? {
        guard case let .object(members)? = value else { return nil }
        for (key, member) in members where key == camel || key == snake { return member }
        return nil
    }

    /// A repeated member's elements: absent or null is none; anything but an array is an error.
    private static func list(_ value: JSONValue, _ camel: String, _ snake: String? = nil) throws(ProtobufDecodingError) -> [JSONValue] {
        guard case .object = value else { throw ProtobufDecodingError(message: "expected an object holding '\(camel)', got \(value.quoted)") }
        switch member(value, camel, snake) {
        case nil, .null?: return []
        case let .array(items)?: return items
        case let other?: throw ProtobufDecodingError(message: "'\(camel)' must be an array, got \(other.quoted)")
        }
    }

    // MARK: Values

    /// A refused item: why.
    struct ItemError: Error {
        let message: String
    }

    private static func attributes(_ owner: JSONValue?, _ what: String) throws(ProtobufDecodingError) -> [OTLP.Attribute] {
        guard let owner else { return [] }
        do {
            return try itemAttributes(owner, what)
        } catch {
            throw ProtobufDecodingError(message: error.message)
        }
    }

    private static func itemAttributes(_ owner: JSONValue, _ what: String) throws(ItemError) -> [OTLP.Attribute] {
        guard case .object = owner else { throw ItemError(message: "\(what) must be an object, got \(owner.quoted)") }
        switch member(owner, "attributes") {
        case nil, .null?: return []
        case let .array(items)?:
            var attributes: [OTLP.Attribute] = []
            attributes.reserveCapacity(items.count)
            for item in items {
                guard let key = member(item, "key")?.stringValue else { throw ItemError(message: "an attribute of \(what) without a string 'key'") }
                attributes.append(OTLP.Attribute(key, try anyValue(member(item, "value"), key)))
            }
            return attributes
        case let other?: throw ItemError(message: "'attributes' of \(what) must be an array, got \(other.quoted)")
        }
    }

    private static func anyValue(_ value: JSONValue?, _ key: String) throws(ItemError) -> OTLP.Value {
        guard case let .object(members)? = value, let (kind, content) = members.first else { return .string("") }
        switch (kind, content) {
        case let ("stringValue", .string(text)), let ("string_value", .string(text)): return .string(text)
        case let ("boolValue", .bool(flag)), let ("bool_value", .bool(flag)): return .bool(flag)
        case ("intValue", _), ("int_value", _):
            guard let number = int64(content) else { throw ItemError(message: "attribute '\(key)': intValue \(content.quoted) is not a 64-bit integer") }
            return .int(number)
        case ("doubleValue", _), ("double_value", _):
            guard let number = double(content) else { throw ItemError(message: "attribute '\(key)': doubleValue \(content.quoted) is not a number") }
            return .double(number)
        case ("arrayValue", _), ("array_value", _), ("kvlistValue", _), ("kvlist_value", _):
            return .other(plain(content).rendered)
        case let ("bytesValue", .string(text)), let ("bytes_value", .string(text)): return .other(text)
        default: throw ItemError(message: "attribute '\(key)': \(kind) \(content.quoted) is no AnyValue")
        }
    }

    /// An array or map value as plain JSON (values without their AnyValue wrappers).
    private static func plain(_ value: JSONValue) -> JSONValue {
        let values = member(value, "values")?.arrayValue ?? []
        if values.allSatisfy({ member($0, "key") != nil }) && !values.isEmpty {
            return .object(values.map { (member($0, "key")?.stringValue ?? "", .string(text(member($0, "value")))) })
        }
        return .array(values.map { .string(text($0)) })
    }

    /// A value's text, "" for one that is no AnyValue (inside an array or map value).
    private static func text(_ value: JSONValue?) -> String {
        do {
            return try anyValue(value, "").text
        } catch {
            return ""
        }
    }

    /// A 64-bit integer, as OTLP's JSON writes them (a string) or as a number.
    private static func int64(_ value: JSONValue) -> Int64? {
        switch value {
        case let .string(text): Int64(text)
        case let .number(number, text): Int64(text) ?? (number == number.rounded() && abs(number) < 9.2e18 ? Int64(number) : nil)
        default: nil
        }
    }

    private static func uint64(_ value: JSONValue?, _ field: String) throws(ItemError) -> UInt64 {
        guard let value, value != .null else { return 0 }
        switch value {
        case let .string(text): if let number = UInt64(text) { return number }
        case let .number(number, text):
            if let exact = UInt64(text) { return exact }
            if number >= 0, number == number.rounded(), number < 1.8e19 { return UInt64(number) }
        default: break
        }
        throw ItemError(message: "'\(field)' \(value.quoted) is not an unsigned 64-bit integer")
    }

    /// A double: a number, or the strings protobuf's JSON uses for the others.
    private static func double(_ value: JSONValue) -> Double? {
        switch value {
        case let .number(number, _): number
        case let .string(text): text == "NaN" ? .nan : text == "Infinity" ? .infinity : text == "-Infinity" ? -.infinity : Double(text)
        default: nil
        }
    }

    private static func optionalDouble(_ value: JSONValue?, _ field: String) throws(ItemError) -> Double? {
        guard let value, value != .null else { return nil }
        guard let number = double(value) else { throw ItemError(message: "'\(field)' \(value.quoted) is not a number") }
        return number
    }

    private static func int(_ value: JSONValue?, _ field: String) throws(ItemError) -> Int {
        guard let value, value != .null else { return 0 }
        guard let number = int64(value), let small = Int(exactly: number) else { throw ItemError(message: "'\(field)' \(value.quoted) is not an integer") }
        return small
    }

    // MARK: Metrics

    private static func metric(_ value: JSONValue, refusals: inout OTLP.Refusals) throws(ProtobufDecodingError) -> OTLP.Metric {
        guard case .object = value else { throw ProtobufDecodingError(message: "a metric must be an object, got \(value.quoted)") }
        var metric = OTLP.Metric()
        metric.name = member(value, "name")?.stringValue ?? ""
        metric.unit = member(value, "unit")?.stringValue ?? ""
        func points<Point>(_ data: JSONValue, _ read: (JSONValue) throws(ItemError) -> Point) throws(ProtobufDecodingError) -> [Point] {
            var points: [Point] = []
            for item in try list(data, "dataPoints", "data_points") {
                do {
                    points.append(try read(item))
                } catch {
                    refusals.add("metric '\(metric.name)': \(error.message)")
                }
            }
            return points
        }
        func temporality(_ data: JSONValue) -> OTLP.Temporality {
            switch member(data, "aggregationTemporality", "aggregation_temporality") {
            case let .number(number, _)?: OTLP.Temporality(rawValue: Int(number)) ?? .unspecified
            case .string("AGGREGATION_TEMPORALITY_DELTA")?: .delta
            case .string("AGGREGATION_TEMPORALITY_CUMULATIVE")?: .cumulative
            default: .unspecified
            }
        }
        if let data = member(value, "gauge") {
            metric.data = .gauge(try points(data, numberPoint))
        } else if let data = member(value, "sum") {
            let monotonic = member(data, "isMonotonic", "is_monotonic") == .bool(true)
            metric.data = .sum(try points(data, numberPoint), temporality(data), monotonic: monotonic)
        } else if let data = member(value, "histogram") {
            metric.data = .histogram(try points(data, histogramPoint), temporality(data))
        } else if let data = member(value, "exponentialHistogram", "exponential_histogram") {
            metric.data = .exponentialHistogram(try points(data, exponentialPoint), temporality(data))
        } else if let data = member(value, "summary") {
            metric.data = .summary(points: try list(data, "dataPoints", "data_points").count)
        }
        return metric
    }

    private static func header(_ point: JSONValue) throws(ItemError) -> OTLP.PointHeader {
        guard case .object = point else { throw ItemError(message: "a data point must be an object, got \(point.quoted)") }
        var header = OTLP.PointHeader()
        header.attributes = try itemAttributes(point, "a data point")
        header.startTimeUnixNano = try uint64(member(point, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
        header.timeUnixNano = try uint64(member(point, "timeUnixNano", "time_unix_nano"), "timeUnixNano")
        header.noRecordedValue = try int(member(point, "flags"), "flags") & 1 != 0
        return header
    }

    private static func numberPoint(_ value: JSONValue) throws(ItemError) -> OTLP.NumberPoint {
        var point = OTLP.NumberPoint()
        point.header = try header(value)
        if let asDouble = member(value, "asDouble", "as_double") {
            guard let number = double(asDouble) else { throw ItemError(message: "'asDouble' \(asDouble.quoted) is not a number") }
            point.value = number
        } else if let asInt = member(value, "asInt", "as_int") {
            guard let number = int64(asInt) else { throw ItemError(message: "'asInt' \(asInt.quoted) is not a 64-bit integer") }
            point.value = Double(number)
        }
        return point
    }

    private static func counts(_ value: JSONValue?, _ field: String) throws(ItemError) -> [UInt64] {
        guard let value, value != .null else { return [] }
        guard case let .array(items) = value else { throw ItemError(message: "'\(field)' must be an array, got \(value.quoted)") }
        var counts: [UInt64] = []
        counts.reserveCapacity(items.count)
        for item in items { counts.append(try uint64(item, field)) }
        return counts
    }

    /// What both kinds of histogram point have besides their buckets.
    private static func histogramSummary(_ value: JSONValue) throws(ItemError)
        -> (header: OTLP.PointHeader, count: UInt64, sum: Double?, min: Double?, max: Double?) {
        (try header(value), try uint64(member(value, "count"), "count"), try optionalDouble(member(value, "sum"), "sum"),
         try optionalDouble(member(value, "min"), "min"), try optionalDouble(member(value, "max"), "max"))
    }

    private static func histogramPoint(_ value: JSONValue) throws(ItemError) -> OTLP.HistogramPoint {
        var point = OTLP.HistogramPoint()
        (point.header, point.count, point.sum, point.min, point.max) = try histogramSummary(value)
        point.bucketCounts = try counts(member(value, "bucketCounts", "bucket_counts"), "bucketCounts")
        if let bounds = member(value, "explicitBounds", "explicit_bounds"), bounds != .null {
            guard case let .array(items) = bounds else { throw ItemError(message: "'explicitBounds' must be an array, got \(bounds.quoted)") }
            for item in items {
                guard let bound = double(item) else { throw ItemError(message: "'explicitBounds' holds \(item.quoted), not a number") }
                point.explicitBounds.append(bound)
            }
        }
        return point
    }

    private static func exponentialPoint(_ value: JSONValue) throws(ItemError) -> OTLP.ExponentialPoint {
        var point = OTLP.ExponentialPoint()
        (point.header, point.count, point.sum, point.min, point.max) = try histogramSummary(value)
        guard let scale = Int32(exactly: try int(member(value, "scale"), "scale")) else { throw ItemError(message: "'scale' is out of range") }
        point.scale = scale
        point.zeroCount = try uint64(member(value, "zeroCount", "zero_count"), "zeroCount")
        func buckets(_ name: String) throws(ItemError) -> OTLP.ExponentialPoint.Buckets {
            var buckets = OTLP.ExponentialPoint.Buckets()
            guard let value = member(value, name), value != .null else { return buckets }
            guard let offset = Int32(exactly: try int(member(value, "offset"), "offset")) else { throw ItemError(message: "'offset' is out of range") }
            buckets.offset = offset
            buckets.counts = try counts(member(value, "bucketCounts", "bucket_counts"), "bucketCounts")
            return buckets
        }
        point.positive = try buckets("positive")
        point.negative = try buckets("negative")
        return point
    }

    // MARK: Traces

    private static func span(_ value: JSONValue) throws(ItemError) -> OTLP.Span {
        guard case .object = value else { throw ItemError(message: "a span must be an object, got \(value.quoted)") }
        var span = OTLP.Span()
        span.name = member(value, "name")?.stringValue ?? ""
        switch member(value, "kind") {
        case let .number(number, _)?: span.kind = Int(exactly: number) ?? 0
        case let .string(name)?: span.kind = ["SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
                                             "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5][name] ?? 0
        default: break
        }
        span.startTimeUnixNano = try uint64(member(value, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
        span.endTimeUnixNano = try uint64(member(value, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
        if let status = member(value, "status") {
            switch member(status, "code") {
            case let .number(number, _)?: span.statusCode = Int(exactly: number) ?? 0
            case .string("STATUS_CODE_OK")?: span.statusCode = 1
            case .string("STATUS_CODE_ERROR")?: span.statusCode = 2
            default: break
            }
            span.statusMessage = member(status, "message")?.stringValue ?? ""
        }
        for attribute in try itemAttributes(value, "a span") { span.attributes.take(attribute.key, attribute.value) }
        return span
    }
}

extension OTLP {
    /// Items refused while decoding or mapping a request: how many, and the first few reasons
    /// (what `partialSuccess.errorMessage` says).
    public struct Refusals: Sendable, Equatable {
        public static let maxListed = 5
        public private(set) var count = 0
        public private(set) var messages: [String] = []

        public init() {}

        public mutating func add(_ message: @autoclosure () -> String, count items: Int = 1) {
            count += items
            if messages.count < Self.maxListed { messages.append(message()) }
        }

        public mutating func add(_ other: Refusals) {
            count += other.count
            messages.append(contentsOf: other.messages.prefix(max(0, Self.maxListed - messages.count)))
        }

        /// The reasons in one sentence, as OTLP's `errorMessage` carries them.
        public var errorMessage: String {
            let more = count - messages.count
            return messages.joined(separator: "; ") + (more > 0 ? "; and \(more) more" : "")
        }
    }
}
