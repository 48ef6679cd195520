/// Maps a method and an exact path to a handler; knows the answers for unknown paths and methods.
public struct Router: Sendable {
    /// How a route answers: synchronously on the server thread (cheap, non-blocking work only),
    /// or asynchronously, with the connection suspended until the answer is ready.
    public enum Handler: Sendable {
        case sync(@Sendable (Request) -> Response)
        case async(@Sendable (Request) async -> Response)
    }

    /// What routing found for a request.
    public enum Match: Sendable {
        case handler(Handler)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private var routes: [String: [String: Handler]] = [:]

    /// Asked once a request's headers are in, before its body is read or its path routed: a
    /// response refuses the request (a `401`, say) and its body is never kept.
    public var admission: (@Sendable (_ method: String, _ path: String, _ headers: HTTPHeaders) -> Response?)?

    public init() {}

    /// Adds `handler` for `method` on each of `paths` (aliases answer the same).
    public mutating func add(_ method: String, _ paths: String..., handler: Handler) {
        for path in paths {
            routes[path, default: [:]][method.uppercased()] = handler
        }
    }

    public mutating func get(_ paths: String..., handler: @escaping @Sendable (Request) -> Response) {
        for path in paths { add("GET", path, handler: .sync(handler)) }
    }

    /// Finds the handler; `HEAD` is answered by the `GET` handler (the server drops the body).
    public func match(method: String, path: String) -> Match {
        guard let byMethod = routes[path] else { return .notFound }
        if let handler = byMethod[method] { return .handler(handler) }
        if method == "HEAD", let handler = byMethod["GET"] { return .handler(handler) }
        var allowed = Set(byMethod.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }
}
