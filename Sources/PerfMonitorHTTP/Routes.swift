import MicroHTTPD

/// Which token a route needs (api.md §4), declared where the route is registered.
public enum RouteAccess: Sendable, Equatable {
    /// No token ever: `/health`, `/ready`.
    case open
    /// The ingest token: the ways in.
    case ingest
    /// The read token (or the admin token): queries.
    case read
    /// The admin token (the read token when no admin token is set): changes.
    case admin
    /// `/metrics`: open, or a read when `metrics_auth: read`.
    case scrape
    /// The dashboard: the page itself holds no data and is open; the data behind it (asked for
    /// with `Accept: application/json`) is a read.
    case pageOrData
}

/// The daemon's routes as they are registered: each with its handler and its access class. The
/// access policy reads the classes from here, so a new route cannot be added without saying who
/// may call it.
public struct Routes: Sendable {
    public private(set) var router = Router()
    private var access: [String: [String: RouteAccess]] = [:]

    public init() {}

    public mutating func add(_ method: String, _ paths: String..., access: RouteAccess, handler: Router.Handler) {
        for path in paths {
            router.add(method, path, handler: handler)
            self.access[Router.parameterPrefix(of: path) ?? path, default: [:]][method.uppercased()] = access
        }
    }

    public mutating func get(_ paths: String..., access: RouteAccess, handler: @escaping @Sendable (Request) -> Response) {
        for path in paths { add("GET", path, access: access, handler: .sync(handler)) }
    }

    /// The class a request falls in: its route's (`HEAD` as `GET`); on a path whose routes are all
    /// open, any method is open (it gets its `405` without a token); anything else is a read.
    public func access(method: String, path: String) -> RouteAccess {
        guard let byMethod = access[router.pattern(of: path) ?? path] else { return .read }
        if let declared = byMethod[method] ?? (method == "HEAD" ? byMethod["GET"] : nil) { return declared }
        return byMethod.values.allSatisfy { $0 == .open } ? .open : .read
    }
}
