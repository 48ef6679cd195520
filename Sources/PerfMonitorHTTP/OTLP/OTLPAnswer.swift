import MicroHTTPD
import PerfJSON
import PerfMonitor

/// The two encodings of OTLP/HTTP; an answer is written in the request's.
enum OTLPEncoding: Sendable {
    case protobuf, json

    /// The encoding a `Content-Type` names; nil for any other.
    init?(contentType: String?) {
        switch contentType?.split(separator: ";").first.map({ String($0).trimmingSpaces.lowercased() }) {
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    var name: String { self == .protobuf ? "protobuf" : "JSON" }
    var contentType: String { self == .protobuf ? "application/x-protobuf" : "application/json" }
}

/// OTLP/HTTP's answers: the export response (with `partialSuccess` when items were refused) and
/// `google.rpc.Status` for errors, in protobuf or JSON.
enum OTLPAnswer {
    /// `google.rpc.Code`s used.
    enum Code: Int64 {
        case invalidArgument = 3, resourceExhausted = 8, unavailable = 14
    }

    static func success(_ signal: OTLPRoute.Signal, rejected: Int, _ message: String, _ encoding: OTLPEncoding) -> Response {
        let rejectedKey = signal == .metrics ? "rejectedDataPoints" : "rejectedSpans"
        switch encoding {
        case .protobuf:
            var writer = ProtobufWriter()
            if rejected > 0 || !message.isEmpty {
                writer.message(1) { partial in
                    partial.int(1, Int64(rejected))
                    partial.string(2, message)
                }
            }
            return response(200, writer.bytes, encoding)
        case .json:
            guard rejected > 0 || !message.isEmpty else { return response(200, Array("{}".utf8), encoding) }
            let partial = JSONValue.object([(rejectedKey, .string(String(rejected))), ("errorMessage", .string(message))])
            return response(200, JSONValue.object([("partialSuccess", partial)]).renderedBytes, encoding)
        }
    }

    static func status(_ status: Int, code: Code, _ message: String, _ encoding: OTLPEncoding) -> Response {
        switch encoding {
        case .protobuf:
            var writer = ProtobufWriter()
            writer.int(1, code.rawValue)
            writer.string(2, message)
            return response(status, writer.bytes, encoding)
        case .json:
            return response(status, JSONValue.object([("code", .int(Int(code.rawValue))), ("message", .string(message))]).renderedBytes, encoding)
        }
    }

    static func retryLater(_ status: Int, _ message: String, seconds: Int, _ encoding: OTLPEncoding) -> Response {
        var answer = Self.status(status, code: status == 429 ? .resourceExhausted : .unavailable, message, encoding)
        answer.headers.add(name: "Retry-After", value: String(seconds))
        return answer
    }

    private static func response(_ status: Int, _ body: [UInt8], _ encoding: OTLPEncoding) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: encoding.contentType)
        return Response(status: status, headers: headers, body: body)
    }
}
