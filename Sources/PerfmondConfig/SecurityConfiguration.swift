/// Who may call what: optional bearer tokens per class of endpoint (api.md §3). An empty token
/// leaves its class open; a token read from a `*_token_file` replaces the file path's value
/// once the configuration is resolved.
public struct AccessConfiguration: Sendable, Equatable {
    /// Required by `POST /events` when set.
    public var ingestToken = ""
    /// Required by `POST /performance/config` when set.
    public var adminToken = ""
    /// Required by every read (queries, dashboard, export) when set; the admin token reads too.
    public var readToken = ""
    public var ingestTokenFile = ""
    public var adminTokenFile = ""
    public var readTokenFile = ""
    /// Whether `/metrics` needs the read token (`read`) or is open to any scraper (`open`).
    public var metricsAuth = MetricsAuth.open

    public enum MetricsAuth: String, Sendable, CaseIterable {
        case open, read
    }

    public init() {}

    /// Whether any class of endpoint is guarded.
    public var hasTokens: Bool { !ingestToken.isEmpty || !readToken.isEmpty || !adminToken.isEmpty }

    /// Tokens shorter than this are refused: they could be guessed.
    public static let minimumTokenLength = 16

    /// A bearer token's syntax (RFC 6750 b64token, at least 16 characters).
    static func isToken(_ text: String) -> Bool {
        text.utf8.count >= minimumTokenLength && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~+/=".utf8.contains(byte)
        }
    }

    static let tokenSyntax = "at least \(minimumTokenLength) characters of A-Z a-z 0-9 - . _ ~ + / ="
}

/// HTTPS: a PEM certificate (chain) and key, both or neither. The files are read once the
/// configuration is resolved; libmicrohttpd serves TLS through GnuTLS.
public struct TLSConfiguration: Sendable, Equatable {
    public var certificateFile = ""
    public var keyFile = ""
    /// The files' contents, filled in when the configuration is resolved.
    public var certificatePEM: String?
    public var keyPEM: String?

    public init() {}

    public var isEnabled: Bool { !certificateFile.isEmpty }
}
