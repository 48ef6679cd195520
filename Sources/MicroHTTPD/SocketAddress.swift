#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A resolved listening address, kept as the raw `sockaddr` bytes libmicrohttpd binds to.
struct SocketAddress: Sendable {
    let storage: sockaddr_storage
    let isIPv6: Bool
    /// True for the IPv6 wildcard `::`, which also accepts IPv4 (dual stack).
    let isIPv6Wildcard: Bool

    /// Resolves `host` (an address literal, `[v6]` included, or a name) with `port`.
    static func resolve(host: String, port: Int) throws -> SocketAddress {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw ServerError("cannot resolve host '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        let isIPv6 = first.pointee.ai_family == AF_INET6
        var wildcard = false
        if isIPv6 {
            withUnsafeBytes(of: &storage) { raw in
                let v6 = raw.load(as: sockaddr_in6.self)
                wildcard = withUnsafeBytes(of: v6.sin6_addr) { $0.allSatisfy { $0 == 0 } }
            }
        }
        return SocketAddress(storage: storage, isIPv6: isIPv6, isIPv6Wildcard: wildcard)
    }
}
