import MicroHTTPD
import PerfMonitor
import PerfmondConfig
import Synchronization

/// Checks the bearer token a request needs before its body is read: the class its route declared
/// (`Routes`): `ingest` for the ways in, `admin` for `POST /performance/config`, `read` for the
/// queries, open for `/health` and `/ready` (and `/metrics` unless `metrics_auth: read`). A class whose token is
/// not configured is open, except `admin`, which falls back to the read token so that setting a
/// read token never leaves the thresholds writable by anyone. The admin token reads too.
/// Tokens can be replaced at run time (SIGHUP); refusals are counted for `/metrics`.
public final class AccessPolicy: Sendable {
    /// The kinds of access a token grants.
    public enum Access: String, Sendable, CaseIterable {
        case open, ingest, read, admin
    }

    /// The tokens in force, replaced whole on reload: a request takes one reference to it,
    /// not a copy of six strings.
    private final class Tokens: Sendable {
        let settings: AccessConfiguration

        init(_ settings: AccessConfiguration) {
            self.settings = settings
        }
    }

    private let tokens: Mutex<Tokens>
    /// Whether any token is set: without one, a request passes on one atomic load, no lock.
    private let guarded: Atomic<Bool>
    private let refusals = Mutex<[Access: Int]>([:])

    public init(_ configuration: AccessConfiguration) {
        let initial = Tokens(configuration)
        tokens = Mutex(initial)
        guarded = Atomic(configuration.hasTokens)
    }

    public func update(_ configuration: AccessConfiguration) {
        let replacement = Tokens(configuration)
        tokens.withLock { $0 = replacement }
        guarded.store(configuration.hasTokens, ordering: .releasing)
    }

    /// Requests refused `401`, by the access they asked for.
    public var refusedByAccess: [Access: Int] { refusals.withLock { $0 } }

    /// The router of `routes`, with this policy checking each request against its route's class.
    public func router(for routes: Routes) -> Router {
        var router = routes.router
        router.admission = { [self] method, path, headers in check(routes.access(method: method, path: path), headers: headers) }
        return router
    }

    /// The access a request of `declared` class needs, given its headers and `metrics_auth`.
    static func access(_ declared: RouteAccess, headers: HTTPHeaders, metricsAuth: AccessConfiguration.MetricsAuth) -> Access {
        switch declared {
        case .open: .open
        case .ingest: .ingest
        case .read: .read
        case .admin: .admin
        case .scrape: metricsAuth == .read ? .read : .open
        case .pageOrData: PerformanceQueries.wantsJSON(headers) ? .read : .open
        }
    }

    /// nil when the request may go on; a `401` otherwise.
    func check(_ declared: RouteAccess, headers: HTTPHeaders) -> Response? {
        guard guarded.load(ordering: .acquiring) else { return nil }
        let settings = tokens.withLock { $0 }.settings
        let access = Self.access(declared, headers: headers, metricsAuth: settings.metricsAuth)
        let accepted: [String]
        switch access {
        case .open: return nil
        case .ingest: accepted = [settings.ingestToken]
        case .read: accepted = [settings.readToken, settings.adminToken]
        case .admin: accepted = [settings.adminToken.isEmpty ? settings.readToken : settings.adminToken]
        }
        // The first token is the one the class is guarded by: unset means open.
        guard !accepted[0].isEmpty else { return nil }
        guard let presented = Self.bearerToken(headers["Authorization"]) else {
            return refuse(access, "this path needs a bearer token (\(access.rawValue) access): send Authorization: Bearer <token>", challenge: #"Bearer realm="perfmond""#)
        }
        // Every configured token is compared, in constant time, so timing tells nothing.
        var matched = false
        for token in accepted where !token.isEmpty {
            if Self.constantTimeEqual(presented, token) { matched = true }
        }
        guard matched else {
            return refuse(access, "the bearer token is not valid for \(access.rawValue) access",
                          challenge: #"Bearer realm="perfmond", error="invalid_token""#)
        }
        return nil
    }

    private func refuse(_ access: Access, _ message: String, challenge: String) -> Response {
        refusals.withLock { $0[access, default: 0] += 1 }
        var response = Response.error(401, message)
        response.headers.add(name: "WWW-Authenticate", value: challenge)
        return response
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.trimmingSpaces.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = String(parts[1]).trimmingSpaces
        return token.isEmpty ? nil : token
    }

    /// Equal without an early exit: the time taken depends on the lengths only.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count) | (x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}
