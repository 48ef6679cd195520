import CSystem
#if canImport(Glibc)
import Glibc
#endif

/// The few socket calls the StatsD listeners make, each failure an error that names the call and
/// the system's reason. A `Socket` owns its descriptor until `close()`.
struct Socket {
    let descriptor: Int32

    /// Why a socket call failed.
    struct Failure: Error, CustomStringConvertible {
        let description: String

        init(_ call: String, _ code: Int32 = errno) {
            description = "\(call): \(String(cString: strerror(code)))"
        }

        init(message: String) { description = message }
    }

    enum Kind {
        case datagram, stream

        var type: Int32 { self == .datagram ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue) }
    }

    /// A non-blocking socket bound to `host:port` (port 0: a free one), listening when a stream.
    static func bound(_ kind: Kind, host: String, port: Int) throws(Failure) -> Socket {
        var hints = addrinfo()
        hints.ai_socktype = kind.type
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let address = found else {
            throw Failure(message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(address.pointee.ai_family, kind.type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket") }
        let socket = Socket(descriptor: descriptor)
        do throws(Failure) {
            if kind == .stream { try socket.set(SO_REUSEADDR, 1) }
            guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else { throw Failure("bind \(host):\(port)") }
            if kind == .stream, listen(descriptor, 128) != 0 { throw Failure("listen") }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// The port it is bound to.
    var port: Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let done = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard done == 0 else { return 0 }
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    func set(_ option: Int32, _ value: Int32) throws(Failure) {
        var value = value
        guard setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw Failure("setsockopt") }
    }

    /// Asks for a receive buffer of `bytes`; what the kernel granted (its count: twice the data it holds).
    func setReceiveBuffer(_ bytes: Int) throws(Failure) -> Int {
        let granted = csystem_set_receive_buffer(descriptor, bytes)
        guard granted >= 0 else { throw Failure("setsockopt SO_RCVBUF") }
        return granted
    }

    /// A waiting connection, non-blocking; nil when none is waiting.
    func accept() -> Socket? {
        let descriptor = Glibc.accept(self.descriptor, nil, nil)
        guard descriptor >= 0 else { return nil }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return Socket(descriptor: descriptor)
    }

    /// What one read gives on a stream.
    enum Read {
        case bytes(Int)
        case wouldBlock
        case closed
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Read {
        let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if count > 0 { return .bytes(count) }
        if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .closed
    }

    func close() { _ = Glibc.close(descriptor) }
}
