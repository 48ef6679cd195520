/// How an `HTTPServer` listens and what it tolerates from clients.
public struct ServerConfiguration: Sendable, Equatable {
    /// An IPv4 or IPv6 address or a host name; `0.0.0.0` is every IPv4 address, `::` every address.
    public var host: String
    /// 0 asks the kernel for a free port; `HTTPServer.port` tells which.
    public var port: Int
    /// Server threads; 0 means one per core.
    public var threads: Int
    /// Bodies larger than this are answered `413` and not kept.
    public var maxBodyBytes: Int
    /// Connections open at once; more are refused at accept.
    public var connectionLimit: Int
    /// An idle or stalled connection is closed after this many seconds.
    public var connectionTimeoutSeconds: Int
    /// libmicrohttpd's memory pool per connection; half of it is the read buffer, so it sets how
    /// much of a body one `recv` takes. libmicrohttpd clears the whole pool after every request,
    /// so a larger one costs every small request too. Measured on 2 cores: a 50 MB LiteLLM batch
    /// goes at 0.40–0.54× a raw server's MB/s with the 32 KiB default, 0.71× with 64 KiB (GET
    /// /health about 5 % slower), 0.83× with 256 KiB (/health 40 % slower).
    public var connectionMemoryBytes: Int
    /// PEM key and certificate for HTTPS; both nil for plain HTTP.
    public var tlsKeyPEM: String?
    public var tlsCertificatePEM: String?

    /// The defaults, the one place they are written: the daemon's configuration takes its
    /// server defaults from here (its port aside, 9470).
    public static let defaults = ServerConfiguration()

    public init(
        host: String = "127.0.0.1", port: Int = 0, threads: Int = 0, maxBodyBytes: Int = 1 << 20,
        connectionLimit: Int = 1024, connectionTimeoutSeconds: Int = 30, connectionMemoryBytes: Int = 32 * 1024,
        tlsKeyPEM: String? = nil, tlsCertificatePEM: String? = nil
    ) {
        self.host = host
        self.port = port
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryBytes = connectionMemoryBytes
        self.tlsKeyPEM = tlsKeyPEM
        self.tlsCertificatePEM = tlsCertificatePEM
    }
}

/// The requests a server refused itself, since it started; none of their bodies was kept.
public struct ServerRefusals: Sendable, Equatable {
    /// Answered `413` (body over its route's limit), by path.
    public var tooLargeByPath: [String: Int] = [:]
    /// Answered `400`/`431`/`501` for the request's head (both Content-Length and
    /// Transfer-Encoding, conflicting lengths, a coding other than chunked, HTTP/1.1 without
    /// Host, more than 100 query parameters), by reason.
    public var framing: [String: Int] = [:]
    /// Every framing reason, in order (for answers that show each, zeros included).
    public static let framingReasons = RequestFraming.Problem.allCases.map(\.rawValue)
    /// Connections closed while they waited for a request (`ConnectionGuard`): the peer had gone
    /// (`peer_gone`), no complete request head within the connection timeout (`header_deadline`),
    /// the oldest waiting ones when connections neared the limit (`shed`), or a request target
    /// with more query parameters than libmicrohttpd could hold (`too_many_query_parameters`).
    public var closedWaiting: [String: Int] = [:]
    public static let closedWaitingReasons = ConnectionGuard.CloseReason.allCases.map(\.rawValue)

    /// Requests libmicrohttpd refused itself before any handler saw them, with its own HTML
    /// page, by the status it answered (counted from its error log: `LibraryRefusal`).
    public var byLibrary: [Int: Int] = [:]
    /// The statuses libmicrohttpd 0.9.75 answers on its own (for answers that show each, zeros included).
    public static let libraryStatuses = [400, 413, 414, 431, 505]

    /// The statuses to show: those, and any other libmicrohttpd answered, in order.
    public var libraryStatusesShown: [Int] { Set(Self.libraryStatuses).union(byLibrary.keys).sorted() }

    public init(tooLargeByPath: [String: Int] = [:], framing: [String: Int] = [:], closedWaiting: [String: Int] = [:],
                byLibrary: [Int: Int] = [:]) {
        self.tooLargeByPath = tooLargeByPath
        self.framing = framing
        self.closedWaiting = closedWaiting
        self.byLibrary = byLibrary
    }
}

/// Why a server could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
