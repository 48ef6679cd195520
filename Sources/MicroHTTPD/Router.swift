/// Maps a method and a path to a handler; knows the answers for unknown paths and methods. A path
/// is exact, or ends in one `{name}` segment that takes the rest of the path (non-empty), handed to
/// the handler as `Request.pathParameter`.
public struct Router: Sendable {
    /// How a route answers: synchronously on the server thread (cheap, non-blocking work only),
    /// or asynchronously, with the connection suspended until the answer is ready.
    public enum Handler: Sendable {
        case sync(@Sendable (Request) -> Response)
        case async(@Sendable (Request) async -> Response)
        /// Reads the body as it arrives, up to the stream's own limit.
        case streaming(BodyStream)
    }

    /// What routing found for a request.
    public enum Match: Sendable {
        case handler(Handler)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private var routes: [String: [String: Handler]] = [:]
    /// Routes ending in a `{name}` segment, by the path before it.
    private var parameterRoutes: [String: [String: Handler]] = [:]

    /// Asked once a request's headers are in, before its body is read or its path routed: a
    /// response refuses the request (a `401`, say) and its body is never kept.
    public var admission: (@Sendable (_ method: String, _ path: String, _ headers: HTTPHeaders) -> Response?)?

    public init() {}

    /// Adds `handler` for `method` on each of `paths` (aliases answer the same).
    public mutating func add(_ method: String, _ paths: String..., handler: Handler) {
        for path in paths {
            if let prefix = Self.parameterPrefix(of: path) {
                parameterRoutes[prefix, default: [:]][method.uppercased()] = Self.handingOverTheParameter(after: prefix, handler)
            } else {
                routes[path, default: [:]][method.uppercased()] = handler
            }
        }
    }

    /// `/a/b/` for `/a/b/{id}`; nil for an exact path.
    public static func parameterPrefix(of path: String) -> String? {
        guard path.hasSuffix("}"), let open = path.lastIndex(of: "{"), open > path.startIndex,
              path[path.index(before: open)] == "/" else { return nil }
        return String(path[..<open])
    }

    private static func handingOverTheParameter(after prefix: String, _ handler: Handler) -> Handler {
        @Sendable func withParameter(_ request: Request) -> Request {
            var request = request
            request.pathParameter = String(request.path.dropFirst(prefix.count))
            return request
        }
        switch handler {
        case let .sync(handle): return .sync { handle(withParameter($0)) }
        case let .async(handle): return .async { await handle(withParameter($0)) }
        case .streaming: preconditionFailure("a streaming route takes no path parameter")
        }
    }

    public mutating func get(_ paths: String..., handler: @escaping @Sendable (Request) -> Response) {
        for path in paths { add("GET", path, handler: .sync(handler)) }
    }

    /// The answer to a complete request, as the server gives it: the admission's refusal, the
    /// route's answer, or the `404`/`405` of an unrouted request. The server runs the same steps
    /// piecewise (sync routes on its thread, async ones with the connection suspended); tests call
    /// this to exercise handlers without a socket.
    public func respond(to request: Request) async -> Response {
        if let admission, let refusal = admission(request.method, request.path, request.headers) { return refusal }
        let found = match(method: request.method, path: request.path)
        switch found {
        case let .handler(.sync(handle)): return handle(request)
        case let .handler(.async(handle)): return await handle(request)
        case let .handler(.streaming(stream)):
            guard request.body.count <= stream.maxBodyBytes else { return .payloadTooLarge(limit: stream.maxBodyBytes) }
            let consumer = stream.start(request)
            // In pieces, as a socket delivers them, so that tests cross piece boundaries.
            var start = 0
            request.body.withUnsafeBytes { body in
                repeat {
                    let end = Swift.min(body.count, start + Self.harnessPieceBytes)
                    consumer.consume(UnsafeRawBufferPointer(rebasing: body[start..<end]))
                    start = end
                } while start < body.count
            }
            switch consumer.finish() {
            case let .now(response): return response
            case let .later(respond): return await respond()
            }
        case .notFound, .methodNotAllowed: return Self.answer(found, method: request.method, path: request.path)
        }
    }

    /// The piece size `respond(to:)` feeds a streaming route (a prime, so pieces end anywhere).
    static let harnessPieceBytes = 4093

    /// What a request without a handler is answered: `404`, or `405` with `Allow`.
    static func answer(_ match: Match, method: String, path: String) -> Response {
        switch match {
        case let .methodNotAllowed(allowed):
            var response = Response.error(405, "method \(method) is not allowed on \(path); allowed: \(allowed.joined(separator: ", "))")
            response.headers.add(name: "Allow", value: allowed.joined(separator: ", "))
            return response
        case .notFound, .handler:
            return .error(404, "no such path: \(path)")
        }
    }

    /// Finds the handler; `HEAD` is answered by the `GET` handler (the server drops the body).
    public func match(method: String, path: String) -> Match {
        guard let byMethod = routes[path] ?? parameterRoute(for: path) else { return .notFound }
        if let handler = byMethod[method] { return .handler(handler) }
        if method == "HEAD", let handler = byMethod["GET"] { return .handler(handler) }
        var allowed = Set(byMethod.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    /// The routes of the `{name}` pattern `path` falls under.
    private func parameterRoute(for path: String) -> [String: Handler]? {
        parameterPrefix(matching: path).flatMap { parameterRoutes[$0] }
    }

    /// The longest `{name}` route prefix that `path` extends by at least one character.
    private func parameterPrefix(matching path: String) -> String? {
        parameterRoutes.keys.filter { path.count > $0.count && path.hasPrefix($0) }.max { $0.count < $1.count }
    }

    /// The pattern `path` is routed by: itself, or the `{name}` route it falls under (for the
    /// access classes registered beside the routes).
    public func pattern(of path: String) -> String? {
        routes[path] != nil ? path : parameterPrefix(matching: path)
    }
}
