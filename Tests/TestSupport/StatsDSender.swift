import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends StatsD datagrams and TCP streams to a daemon on 127.0.0.1, as a StatsD client would:
/// raw sockets, so that a test can send what no client library would (bad lines, split lines).
public enum StatsDSender {
    /// One datagram.
    public static func datagram(_ text: String, port: Int) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ClientError("socket: \(errno)") }
        defer { close(descriptor) }
        var address = loopback(port)
        let bytes = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == bytes.count else { throw ClientError("sendto: \(errno)") }
    }

    /// One datagram to ::1.
    public static func datagramOverIPv6(_ text: String, port: Int) throws {
        let descriptor = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ClientError("socket: \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = UInt16(port).bigEndian
        address.sin6_addr = in6addr_loopback
        let bytes = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard sent == bytes.count else { throw ClientError("sendto: \(errno)") }
    }

    /// A TCP connection to the listener.
    public final class Stream: Sendable {
        let descriptor: Int32

        public init(port: Int) throws {
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard descriptor >= 0, connected == 0 else { throw ClientError("connect: \(errno)") }
        }

        public func send(_ text: String) throws {
            let bytes = Array(text.utf8)
            guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw ClientError("send: \(errno)") }
        }

        /// Whether the listener closed it (a read sees the end within `seconds`).
        public func isClosedByPeer(within seconds: Double) -> Bool {
            var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var byte: UInt8 = 0
            return recv(descriptor, &byte, 1, 0) == 0
        }

        public func close() { _ = Glibc.close(descriptor) }

        deinit { close() }
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
