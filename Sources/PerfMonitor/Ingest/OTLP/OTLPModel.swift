#if canImport(Glibc)
import Glibc
#endif

/// What perfmond keeps of an OTLP export request, decoded from protobuf or from OTLP's JSON
/// alike (`OTLPProtobuf`, `OTLPJSON`) and mapped to typed events by `OTLPMetricsMapping` and
/// `OTLPSpanMapping`. Only the parts of OTLP's messages the mapping reads are here.
public enum OTLP {}

extension OTLP {
    /// An attribute's value as text: strings as they are, numbers and booleans as their JSON
    /// text, arrays and maps as JSON (what a label value or a model name can hold).
    public struct Attribute: Sendable, Equatable {
        public var key: String
        public var value: Value

        public init(_ key: String, _ value: Value) {
            self.key = key
            self.value = value
        }
    }

    public enum Value: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        /// An array, a map or bytes, as JSON text.
        case other(String)

        public var text: String {
            switch self {
            case let .string(text), let .other(text): text
            case let .bool(value): value ? "true" : "false"
            case let .int(value): String(value)
            case let .double(value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            }
        }

        /// A number, as an integer or a float attribute (token counts, status codes).
        public var number: Double? {
            switch self {
            case let .int(value): Double(value)
            case let .double(value): value
            case let .string(text): Double(text)
            case .bool, .other: nil
            }
        }
    }

    /// The resource's attributes as sent, and its `service.name`.
    public struct Resource: Sendable, Equatable {
        public var attributes: [Attribute] = []
        /// Identifies the resource among others in the stream table (a digest of its attributes).
        public var identity: UInt64 = 0

        public init(attributes: [Attribute] = []) {
            self.attributes = attributes
            identity = Self.identity(of: attributes)
        }

        public var serviceName: String? {
            attributes.first { $0.key == "service.name" }.map(\.value.text)
        }

        static func identity(of attributes: [Attribute]) -> UInt64 {
            var digest = StreamDigest()
            for attribute in attributes.sorted(by: { $0.key < $1.key }) {
                digest.add(attribute.key)
                digest.add(attribute.value.text)
            }
            return digest.value
        }
    }

    // MARK: Metrics

    public struct MetricsRequest: Sendable, Equatable {
        public var resources: [ResourceMetrics] = []
        /// Points refused as they were decoded (OTLP JSON: a value of the wrong type).
        public var refusals = Refusals()
        public init() {}
    }

    public struct ResourceMetrics: Sendable, Equatable {
        public var resource = Resource()
        public var scopes: [ScopeMetrics] = []
        public init() {}
    }

    public struct ScopeMetrics: Sendable, Equatable {
        /// Scope name and version, for the stream identity.
        public var scope = ""
        public var metrics: [Metric] = []
        public init() {}
    }

    public enum Temporality: Int, Sendable, Equatable {
        case unspecified = 0, delta = 1, cumulative = 2
    }

    public struct Metric: Sendable, Equatable {
        public var name = ""
        public var unit = ""
        public var data = Data.none

        public init() {}

        /// One case per kind of OTLP metric; `summary` is counted, never mapped (its quantiles cannot be merged).
        public enum Data: Sendable, Equatable {
            case none
            case gauge([NumberPoint])
            case sum([NumberPoint], Temporality, monotonic: Bool)
            case histogram([HistogramPoint], Temporality)
            case exponentialHistogram([ExponentialPoint], Temporality)
            case summary(points: Int)

            public var points: Int {
                switch self {
                case .none: 0
                case let .gauge(points), let .sum(points, _, _): points.count
                case let .histogram(points, _): points.count
                case let .exponentialHistogram(points, _): points.count
                case let .summary(points): points
                }
            }
        }
    }

    /// What every data point has.
    public struct PointHeader: Sendable, Equatable {
        public var attributes: [Attribute] = []
        public var startTimeUnixNano: UInt64 = 0
        public var timeUnixNano: UInt64 = 0
        /// `DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK`: the point only says that the stream has no value.
        public var noRecordedValue = false
        public init() {}
    }

    public struct NumberPoint: Sendable, Equatable {
        public var header = PointHeader()
        /// `asDouble`, or `asInt` made a Double; nil when the point has neither.
        public var value: Double?
        public init() {}
    }

    public struct HistogramPoint: Sendable, Equatable {
        public var header = PointHeader()
        public var count: UInt64 = 0
        public var sum: Double?
        public var bucketCounts: [UInt64] = []
        public var explicitBounds: [Double] = []
        public var min: Double?
        public var max: Double?
        public init() {}
    }

    public struct ExponentialPoint: Sendable, Equatable {
        public var header = PointHeader()
        public var count: UInt64 = 0
        public var sum: Double?
        public var scale: Int32 = 0
        public var zeroCount: UInt64 = 0
        public var positive = Buckets()
        public var negative = Buckets()
        public var min: Double?
        public var max: Double?
        public init() {}

        /// Consecutive buckets from `offset`: bucket `offset + i` holds `counts[i]` values in
        /// (base^(offset+i), base^(offset+i+1)], base = 2^(2^-scale).
        public struct Buckets: Sendable, Equatable {
            public var offset: Int32 = 0
            public var counts: [UInt64] = []
            public init() {}
        }
    }

    // MARK: Traces

    public struct TracesRequest: Sendable, Equatable {
        public var resources: [ResourceSpans] = []
        /// Spans refused as they were decoded.
        public var refusals = Refusals()
        public init() {}
    }

    public struct ResourceSpans: Sendable, Equatable {
        public var serviceName: String?
        public var spans: [Span] = []
        public init() {}
    }

    /// A span's kind and status as OTLP numbers them.
    public enum SpanKind: Int, Sendable {
        case unspecified = 0, `internal` = 1, server = 2, client = 3, producer = 4, consumer = 5
    }

    /// A span, with the attributes the mapping reads picked out as it is decoded (a span's other
    /// attributes — prompts, often — are skipped unread).
    public struct Span: Sendable, Equatable {
        public var name = ""
        public var kind = 0
        public var startTimeUnixNano: UInt64 = 0
        public var endTimeUnixNano: UInt64 = 0
        /// `Status.code`: 2 is ERROR.
        public var statusCode = 0
        public var statusMessage = ""
        public var attributes = SpanAttributes()
        public init() {}
    }

    /// The span attributes the mapping reads (GenAI and HTTP semantic conventions).
    public struct SpanAttributes: Sendable, Equatable {
        public var operationName: String?
        public var providerName: String?
        /// `gen_ai.system`, the older name of the provider.
        public var system: String?
        public var requestModel: String?
        public var responseModel: String?
        public var inputTokens: Double?
        public var outputTokens: Double?
        public var errorType: String?
        public var httpRoute: String?
        /// `http.request.method`, else the older `http.method`.
        public var httpMethod: String?
        /// `http.response.status_code`, else the older `http.status_code`.
        public var httpStatusCode: Double?
        public init() {}

        /// Keeps `value` when `key` is one of the attributes read; false for any other key.
        @discardableResult
        public mutating func take(_ key: String, _ value: Value) -> Bool {
            guard let field = Self.field(key) else { return false }
            set(field, value)
            return true
        }

        /// The attributes read, by their keys (both decoders find them through this one list).
        enum Field: CaseIterable {
            case operationName, providerName, system, requestModel, responseModel, inputTokens, outputTokens, errorType
            case httpRoute, httpMethod, oldHTTPMethod, httpStatusCode, oldHTTPStatusCode

            /// The field whose key these bytes are: the keys of that length compared byte for byte (a
            /// span's attributes are matched as they are decoded, without a string, and most are
            /// passed over on their length alone).
            init?(bytes key: UnsafeRawBufferPointer) {
                let candidates: [Field] = switch key.count {
                case 10: [.errorType, .httpRoute]
                case 11: [.oldHTTPMethod]
                case 13: [.system]
                case 16: [.oldHTTPStatusCode]
                case 19: [.httpMethod]
                case 20: [.providerName, .requestModel]
                case 21: [.operationName, .responseModel]
                case 25: [.inputTokens, .httpStatusCode]
                case 26: [.outputTokens]
                default: []
                }
                for candidate in candidates where memcmp(candidate.key.utf8Start, key.baseAddress!, key.count) == 0 {
                    self = candidate
                    return
                }
                return nil
            }

            var key: StaticString {
                switch self {
                case .operationName: "gen_ai.operation.name"
                case .providerName: "gen_ai.provider.name"
                case .system: "gen_ai.system"
                case .requestModel: "gen_ai.request.model"
                case .responseModel: "gen_ai.response.model"
                case .inputTokens: "gen_ai.usage.input_tokens"
                case .outputTokens: "gen_ai.usage.output_tokens"
                case .errorType: "error.type"
                case .httpRoute: "http.route"
                case .httpMethod: "http.request.method"
                case .oldHTTPMethod: "http.method"
                case .httpStatusCode: "http.response.status_code"
                case .oldHTTPStatusCode: "http.status_code"
                }
            }
        }

        static func field(_ key: String) -> Field? {
            var key = key
            return key.withUTF8 { Field(bytes: UnsafeRawBufferPointer($0)) }
        }

        mutating func set(_ field: Field, _ value: Value) {
            switch field {
            case .operationName: operationName = value.text
            case .providerName: providerName = value.text
            case .system: system = value.text
            case .requestModel: requestModel = value.text
            case .responseModel: responseModel = value.text
            case .inputTokens: inputTokens = value.number
            case .outputTokens: outputTokens = value.number
            case .errorType: errorType = value.text
            case .httpRoute: httpRoute = value.text
            case .httpMethod: httpMethod = value.text
            case .oldHTTPMethod: if httpMethod == nil { httpMethod = value.text }
            case .httpStatusCode: httpStatusCode = value.number
            case .oldHTTPStatusCode: if httpStatusCode == nil { httpStatusCode = value.number }
            }
        }
    }
}

/// A stable 64-bit digest of text (FNV-1a, then splitmix64's finaliser), the same in every run, so
/// that the stream table's keys survive a restart in the snapshot.
struct StreamDigest {
    private(set) var state: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        state = (state ^ 0xFF) &* 0x100_0000_01B3  // a separator: ("ab","c") ≠ ("a","bc")
    }

    mutating func add(_ number: UInt64) {
        state = (state ^ number) &* 0x100_0000_01B3
        state = (state ^ 0xFE) &* 0x100_0000_01B3
    }

    var value: UInt64 {
        var z = state &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
