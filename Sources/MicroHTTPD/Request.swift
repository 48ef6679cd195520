/// One HTTP request as a handler sees it: decoded, complete, and safe to pass between threads.
public struct Request: Sendable {
    /// The method as sent, upper case (`GET`, `POST`…).
    public let method: String
    /// The percent-decoded path, without the query string.
    public let path: String
    /// Query parameters in order, percent-decoded and with `+` read as a space; repeated keys repeat.
    public let query: [(name: String, value: String)]
    public let headers: HTTPHeaders
    /// The whole body; empty when none was sent.
    public let body: [UInt8]
    /// The value of the route's `{name}` segment, for a route with one (`Router.add`).
    public internal(set) var pathParameter: String?

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The first value of query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// Every value of query parameter `name`, in order.
    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
    }
}
