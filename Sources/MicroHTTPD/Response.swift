import PerfJSON

/// What a handler answers: a status, header fields and the body bytes.
public struct Response: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// A body written while it is sent (Server-Sent Events); `body` is then not sent.
    public var stream: ResponseStream?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static let jsonContentType = "application/json; charset=utf-8"

    /// Shared by every JSON answer: one array, not one per answer.
    private static let jsonHeaders = HTTPHeaders([("Content-Type", jsonContentType)])

    /// A JSON answer from already-encoded bytes.
    public static func json(status: Int = 200, _ body: [UInt8]) -> Response {
        Response(status: status, headers: jsonHeaders, body: body)
    }

    /// A JSON answer from an already-encoded string.
    public static func json(status: Int = 200, _ body: String) -> Response {
        json(status: status, Array(body.utf8))
    }

    /// The project-wide error shape: `{"error": message, "status": N}`.
    public static func error(_ status: Int, _ message: String) -> Response {
        json(status: status, #"{"error":"# + JSONString.quoted(message) + #","status":\#(status)}"#)
    }
}
